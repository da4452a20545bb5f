# Two LocalStack accounts: a 12-digit access key id selects the account. Create both buckets first (e.g.
# `aws --endpoint-url http://127.0.0.1:4566 s3 mb s3://acme-east` with AWS_ACCESS_KEY_ID=111111111111, and
# s3://acme-west with 222222222222), then `tofu init && tofu apply`.
bucket_a     = "acme-east"
bucket_b     = "acme-west"
account_a_id = "111111111111"
account_b_id = "222222222222"
access_key_a = "111111111111"
secret_key_a = "test"
access_key_b = "222222222222"
secret_key_b = "test"
endpoint     = "http://127.0.0.1:4566"
