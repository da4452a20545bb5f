# Two LocalStack accounts: a 12-digit access key id selects the account. Create both buckets and both keys first
# (the keys' ARNs below are placeholders), and pass the endpoint of your LocalStack.
source_bucket          = "acme-data"
destination_bucket     = "acme-dr-copy"
source_account_id      = "111111111111"
source_kms_key_arn     = "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab"
replica_kms_key_arn    = "arn:aws:kms:us-east-1:222222222222:key/abcd1234-12ab-34cd-56ef-1234567890ab"
source_access_key      = "111111111111"
source_secret_key      = "test"
destination_access_key = "222222222222"
destination_secret_key = "test"
endpoint               = "http://127.0.0.1:4566"
