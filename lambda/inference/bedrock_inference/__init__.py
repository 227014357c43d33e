"""Guarded, resilient Amazon Bedrock inference behind API Gateway (REST, IAM auth).

Lambda asset root: ``lambda/inference/``; handler: ``bedrock_inference.handler.lambda_handler``.

Layers: ``handler`` (API Gateway event in, HTTP response out, the one place where domain errors
become HTTP statuses) → ``logic`` (validation against the config, team allow-lists, fallback
chain, circuit breakers, one time budget per request, telemetry) → ``bedrock_client``
(bedrock-runtime Converse with explicit retries and timeouts, each call bounded by its deadline,
every failure classified). ``models`` holds the settings and the request, validated by the
strict ``shapes`` they are declared with (and ``request_json_schema()``, the request body's JSON
Schema for API Gateway, rendered from the same shapes); ``media`` checks attachments (base64,
file signatures, image dimensions).

Runtime dependencies: boto3 (Lambda runtime) and aws_lambda_powertools (the AWS-managed
Powertools for AWS Lambda (Python) v3 layer). Nothing is vendored; pydantic is not needed.
This module imports nothing, so importing a submodule stays cheap.
"""
