"""What crossrepl writes into AWS that the tests look for: its ownership tag, its statement Sids, and the actions
of the documents it writes."""

# The tag crossrepl puts on every role and policy it creates or adopts (value: the source bucket).
OWNER_TAG = "crossrepl:source-bucket"
# Every destination-grant Sid starts with this: the compact statements' (below) and, in the per-source form of earlier
# releases, the source account and a hash of the role name (see naming.destination_sid).
SID_BASE = "CrossreplReplication"
# The compact statement admitting every source role of a destination bucket, and the one listing the roles that may
# make the destination account the owner of replicas.
ROLES_SID = "CrossreplReplicationRoles"
OWNER_OVERRIDE_SID = "CrossreplReplicationOwnerOverride"

# The role policy: reading the source bucket and its objects, replicating into the destination objects.
SOURCE_BUCKET_ACTIONS = {"s3:GetReplicationConfiguration", "s3:ListBucket"}
SOURCE_OBJECT_ACTIONS = {"s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl", "s3:GetObjectVersionTagging",
                         "s3:GetObjectRetention", "s3:GetObjectLegalHold"}
REPLICATE_ACTIONS = {"s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"}
# The destination grant's bucket statement: read-only (no s3:PutBucketVersioning, no listing).
DEST_BUCKET_ACTIONS = {"s3:GetBucketVersioning"}
