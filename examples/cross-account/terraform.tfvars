# Two LocalStack accounts: a 12-digit access key id selects the account. `make demo` creates both buckets and
# passes the endpoint of the LocalStack it started with -var endpoint=...
source_bucket          = "acme-data"
destination_bucket     = "acme-dr-copy"
source_account_id      = "111111111111"
source_access_key      = "111111111111"
source_secret_key      = "test"
destination_access_key = "222222222222"
destination_secret_key = "test"
endpoint               = "http://127.0.0.1:4566"
