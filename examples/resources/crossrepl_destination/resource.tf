resource "crossrepl_destination" "dr" {
  provider          = crossrepl.dr
  bucket            = "acme-dr-copy"
  source_account_id = "111111111111"
  source_bucket     = "acme-data"
}
