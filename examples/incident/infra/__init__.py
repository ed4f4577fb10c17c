"""Infrastructure as code for the incident investigator: AWS SAM and AWS CDK (Python).

- ``template.yaml``: the SAM template (``sam deploy``);
- ``cdk_app.py`` / ``stack.py`` / ``cdk.json``: the same stack in CDK (``cdk deploy``);
- ``spec.py``: what both declare (actions, alarms, names), read by the CDK app and the tests;
- ``bundling.py``: the CDK app's code asset, bundled by CDK; the SAM template's code is
  built by ``sam build``. Both are ``examples/`` with ``examples/requirements.txt``.

The checkpoint table's keys come from ``langgraph_dynamodb.schema.create_table_params`` (the
definition ``DynamoDBSaver.setup()`` creates); a test checks both templates against it.
"""
