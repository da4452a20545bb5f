"""What the acceptance tests share (conftest.py holds only the pytest hooks and fixtures):

- harness: OpenTofu / Terraform in a workspace, and what they printed
- services: LocalStack and the provider mirror
- naming: the accounts and buckets of a test, and the names crossrepl derives
- constants: what crossrepl writes that the tests look for (ownership tag, Sids, actions)
- aws_readers: boto3 readers of what crossrepl manages, and checks of what it wrote
- scenarios: two accounts with a bucket each, and HCL over them
- examples: the repository's examples/ in a workspace
- reliability: proxies, commands run until they converge, processes to kill

testbed/ is on the import path too (pytest.ini `pythonpath`): mirror, awsproxy and objects are imported by name.
"""
