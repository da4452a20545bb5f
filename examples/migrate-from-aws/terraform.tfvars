# Two LocalStack accounts: a 12-digit access key id selects the account. The buckets and the old hand-written
# setup must exist first (docs/guides/migrate-from-aws-provider.md, "Before"); then `tofu init && tofu plan`.
source_bucket          = "acme-data"
destination_bucket     = "acme-dr-copy"
source_account_id      = "111111111111"
source_access_key      = "111111111111"
source_secret_key      = "test"
destination_access_key = "222222222222"
destination_secret_key = "test"
endpoint               = "http://127.0.0.1:4566"
