"""Opt-in custom resource that turns on Amazon Bedrock model access for an account and region.

Lambda handler: ``model_access_handler.handler.on_event`` (asset root ``lambda/model_access``).
``model_access_handler.handler.REQUIRED_ACTIONS`` lists the IAM actions it calls.
"""
