"""Small building blocks every capability uses: the landing zone key, ``ManagedPolicyRole``,
``LandingZoneFunction`` and retained, encrypted log groups.

Imports ``config`` and ``compliance`` only."""
