"""Deploy rehearsal: the real CDK CLI deploys, updates and destroys the landing zone on moto."""
