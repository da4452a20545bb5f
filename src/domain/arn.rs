//! AWS names and ARNs as types: one partition table, and a `FromStr` for each identifier crossrepl takes from
//! users, whose error says what is wrong in words a user can act on.

use std::fmt;
use std::str::FromStr;

/// An AWS partition: its ARN id, the DNS suffix of its endpoints, and how its region names begin (from the AWS
/// SDKs' partition table).
#[derive(Debug, PartialEq, Eq)]
pub struct Partition {
    /// `aws`, `aws-cn`, ...
    pub id: &'static str,
    /// `amazonaws.com`, `amazonaws.com.cn`, ...
    pub dns_suffix: &'static str,
    region_prefix: &'static str,
}

/// Every partition; the first is the commercial one, for regions that no other prefix claims.
pub static PARTITIONS: [Partition; 8] = [
    Partition { id: "aws", dns_suffix: "amazonaws.com", region_prefix: "" },
    Partition { id: "aws-cn", dns_suffix: "amazonaws.com.cn", region_prefix: "cn-" },
    Partition { id: "aws-us-gov", dns_suffix: "amazonaws.com", region_prefix: "us-gov-" },
    Partition { id: "aws-iso", dns_suffix: "c2s.ic.gov", region_prefix: "us-iso-" },
    Partition { id: "aws-iso-b", dns_suffix: "sc2s.sgov.gov", region_prefix: "us-isob-" },
    Partition { id: "aws-iso-e", dns_suffix: "cloud.adc-e.uk", region_prefix: "eu-isoe-" },
    Partition { id: "aws-iso-f", dns_suffix: "csp.hci.ic.gov", region_prefix: "us-isof-" },
    Partition { id: "aws-eusc", dns_suffix: "amazonaws.eu", region_prefix: "eusc-" },
];

impl Partition {
    /// The partition a region belongs to.
    pub fn of_region(region: &str) -> &'static Partition {
        PARTITIONS[1..].iter().find(|p| region.starts_with(p.region_prefix)).unwrap_or(&PARTITIONS[0])
    }

    /// The partition with ARN id `id`.
    pub fn by_id(id: &str) -> Option<&'static Partition> {
        PARTITIONS.iter().find(|p| p.id == id)
    }

    /// The partition of an ARN, or what is wrong with its partition field.
    fn of_arn_field(id: &str) -> Result<&'static Partition, String> {
        Partition::by_id(id).ok_or_else(|| {
            let ids: Vec<&str> = PARTITIONS.iter().map(|p| p.id).collect();
            format!("{id:?} is not an AWS partition (expected one of {})", ids.join(", "))
        })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

/// Whether `r` looks like an AWS region name: `<area>-<place>-<n>` (`us-east-1`, `us-gov-west-1`,
/// `eusc-de-east-1`).
pub fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && (2..=4).contains(&parts[0].len())
        && parts.iter().all(|p| !p.is_empty())
        && parts[..parts.len() - 1].iter().all(|p| p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
}

/// A 12-digit AWS account id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

impl FromStr for AccountId {
    type Err = String;
    fn from_str(v: &str) -> Result<Self, String> {
        if v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit()) {
            Ok(AccountId(v.to_string()))
        } else {
            Err(format!("{v:?} is not an AWS account id: it must be exactly 12 digits."))
        }
    }
}

impl AccountId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A general purpose S3 bucket name, checked against the S3 naming rules (legacy names with uppercase letters or
/// underscores, which old us-east-1 buckets may still carry, are refused too).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BucketName(String);

impl FromStr for BucketName {
    type Err = String;
    fn from_str(name: &str) -> Result<Self, String> {
        let len = name.chars().count();
        if !(3..=63).contains(&len) {
            return Err(format!("a bucket name has 3 to 63 characters, this one has {len}"));
        }
        if let Some(c) =
            name.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
        {
            return Err(format!("{c:?} is not allowed: use only lowercase letters, digits, dots and hyphens"));
        }
        let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
            return Err("a bucket name must begin and end with a letter or a digit".into());
        }
        if name.contains("..") {
            return Err("a bucket name must not contain two adjacent dots".into());
        }
        if name.parse::<std::net::Ipv4Addr>().is_ok() {
            return Err("a bucket name must not be formatted as an IP address".into());
        }
        if let Some(p) = ["xn--", "sthree-", "amzn-s3-demo-"].iter().find(|p| name.starts_with(*p)) {
            return Err(format!("the prefix {p:?} is reserved by AWS"));
        }
        if let Some(s) = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"].iter().find(|s| name.ends_with(*s)) {
            return Err(format!("the suffix {s:?} is reserved by AWS for access points and other bucket types"));
        }
        Ok(BucketName(name.to_string()))
    }
}

impl BucketName {
    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BucketName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `arn:<partition>:s3:::<bucket>`.
pub fn bucket_arn(partition: &Partition, bucket: &str) -> String {
    format!("arn:{partition}:s3:::{bucket}")
}

/// `arn:<partition>:iam::<account>:role<path><name>`.
pub fn role_arn(partition: &Partition, account: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role{path}{name}")
}

/// `arn:<partition>:iam::<account>:policy<path><name>`.
pub fn policy_arn(partition: &Partition, account: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy{path}{name}")
}

/// The key ARN behind a bucket's default-encryption key as S3 reports it (`KMSMasterKeyID`: a key ARN, or a bare
/// key id of the bucket's account and region); `None` for an alias, which only KMS can resolve.
pub fn default_key_arn(configured: &str, partition: &Partition, region: &str, account: &str) -> Option<String> {
    if configured.parse::<KmsKeyArn>().is_ok() {
        return Some(configured.to_string());
    }
    let bare_id = !configured.is_empty() && configured.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    bare_id.then(|| format!("arn:{partition}:kms:{region}:{account}:key/{configured}"))
}

/// An S3 bucket ARN, `arn:<partition>:s3:::<bucket name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketArn {
    /// Its partition.
    pub partition: &'static Partition,
    /// The bucket.
    pub bucket: BucketName,
}

impl FromStr for BucketArn {
    type Err = String;
    fn from_str(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "s3" {
            return Err("it does not have the form arn:<partition>:s3:::<bucket name>".into());
        }
        let partition = Partition::of_arn_field(parts[1])?;
        if !parts[3].is_empty() || !parts[4].is_empty() {
            return Err("a bucket ARN has empty region and account fields (arn:aws:s3:::name)".into());
        }
        if parts[5].contains('/') {
            return Err("it names objects inside a bucket; give the bucket's own ARN, without /…".into());
        }
        Ok(BucketArn { partition, bucket: parts[5].parse()? })
    }
}

impl BucketArn {
    /// The bucket name of a string of the shape `arn:<partition>:s3:::<name>`, without checking the name.
    pub fn name_of(arn: &str) -> Option<&str> {
        let rest = arn.strip_prefix("arn:")?;
        let (partition, rest) = rest.split_once(':')?;
        let name = rest.strip_prefix("s3:::")?;
        (!partition.is_empty() && !name.is_empty() && !name.contains(['/', ':'])).then_some(name)
    }
}

/// An IAM role ARN, `arn:<partition>:iam::<account>:role/<path/name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    /// The account owning the role.
    pub account: AccountId,
    /// Its path, `/` or `/a/b/`.
    pub path: String,
    /// Its name.
    pub name: String,
}

impl FromStr for RoleArn {
    type Err = String;
    fn from_str(arn: &str) -> Result<Self, String> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let usage = || format!("{arn:?} is not an IAM role ARN such as arn:aws:iam::123456789012:role/name");
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" || !parts[3].is_empty() {
            return Err(usage());
        }
        Partition::of_arn_field(parts[1])?;
        let account = parts[4].parse().map_err(|_| usage())?;
        let path_name = parts[5].strip_prefix("role").filter(|r| r.starts_with('/')).ok_or_else(usage)?;
        let (path, name) = path_name.rsplit_once('/').ok_or_else(usage)?;
        if name.is_empty() {
            return Err(usage());
        }
        Ok(RoleArn { account, path: format!("{path}/"), name: name.to_string() })
    }
}

/// A KMS key ARN, `arn:<partition>:kms:<region>:<account>:key/<key id>`; aliases and bare ids are refused,
/// because IAM and key policies need the key's own ARN (where an alias may stand for it, see [`KmsAliasArn`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsKeyArn {
    /// Its region.
    pub region: String,
    /// The account owning the key.
    pub account: AccountId,
}

impl FromStr for KmsKeyArn {
    type Err = String;
    fn from_str(arn: &str) -> Result<Self, String> {
        if arn.starts_with("alias/") || (arn.starts_with("arn:") && arn.contains(":alias/")) {
            return Err("it is a KMS alias; the policies crossrepl writes name keys, so give the key's own ARN \
                        (…:key/<key id>), for example the alias's target_key_arn"
                .into());
        }
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "kms" {
            return Err("it is not a key ARN of the form arn:<partition>:kms:<region>:<account id>:key/<key id>; \
                        a bare key id is not enough"
                .into());
        }
        Partition::by_id(parts[1]).ok_or_else(|| format!("{:?} is not an AWS partition", parts[1]))?;
        if !is_region(parts[3]) {
            return Err(format!("{:?} is not an AWS region", parts[3]));
        }
        let account = parts[4].parse().map_err(|_| format!("{:?} is not a 12-digit account id", parts[4]))?;
        match parts[5].strip_prefix("key/") {
            Some(id) if !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
                Ok(KmsKeyArn { region: parts[3].to_string(), account })
            }
            _ => Err("the resource part must be key/<key id>".into()),
        }
    }
}

/// A KMS alias ARN, `arn:<partition>:kms:<region>:<account>:alias/<name>`. S3 takes one as a replica key
/// (`ReplicaKmsKeyID`), but IAM and key policies match only the key ARN behind it ("an alias ARN in `Resource`
/// controls access to the alias, not the key",
/// <https://docs.aws.amazon.com/kms/latest/developerguide/alias-authorization.html>), so it must be resolved
/// (kms:DescribeKey) before it goes into a policy. Aliases of AWS managed keys (`alias/aws/...`) are refused:
/// another account cannot use those keys, and DescribeKey of such an alias creates the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KmsAliasArn {
    /// Its region (also its key's).
    pub region: String,
    /// The account owning the alias and its key.
    pub account: AccountId,
}

impl FromStr for KmsAliasArn {
    type Err = String;
    fn from_str(arn: &str) -> Result<Self, String> {
        let usage =
            || "it is not an alias ARN of the form arn:<partition>:kms:<region>:<account id>:alias/<name>".to_string();
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "kms" || Partition::by_id(parts[1]).is_none() {
            return Err(usage());
        }
        if !is_region(parts[3]) {
            return Err(format!("{:?} is not an AWS region", parts[3]));
        }
        let account = parts[4].parse().map_err(|_| format!("{:?} is not a 12-digit account id", parts[4]))?;
        let name = parts[5].strip_prefix("alias/").ok_or_else(usage)?;
        if name.starts_with("aws/") {
            return Err("it is the alias of an AWS managed key, which no other account may use; give a customer \
                        managed key"
                .into());
        }
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c)) {
            return Err("an alias name has letters, digits and `/_-`".into());
        }
        Ok(KmsAliasArn { region: parts[3].to_string(), account })
    }
}

/// The account field of an ARN (`arn:partition:service:region:account:resource`); `None` when it has no such field
/// or it is empty.
pub fn account_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// An IAM role or policy name: 1 to 64 characters of letters, digits and `+=,.@_-`.
pub fn check_iam_name(v: &str) -> Result<(), String> {
    if (1..=64).contains(&v.len()) && v.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c)) {
        Ok(())
    } else {
        Err(format!("{v:?} is not a valid IAM name: 1 to 64 characters of letters, digits and +=,.@_-"))
    }
}

/// A pattern of IAM role names: an IAM name in which `*` (any run of characters) and `?` (one character) may also
/// appear, and that is not `*` alone (which would admit every role).
pub fn check_iam_name_pattern(v: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&v.len())
        && v.chars().all(|c| c.is_ascii_alphanumeric() || "+=,.@_-*?".contains(c))
        && v.chars().any(|c| c != '*' && c != '?');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{v:?} is not a role name pattern: 1 to 64 letters, digits, +=,.@_- and the wildcards * and ?, with at \
             least one character that is not a wildcard (e.g. `crossrepl-*`)"
        ))
    }
}

/// An AWS Organizations organization id: `o-` and 10 to 32 lowercase letters or digits
/// (<https://docs.aws.amazon.com/organizations/latest/APIReference/API_Organization.html>).
pub fn check_organization_id(v: &str) -> Result<(), String> {
    let rest = v.strip_prefix("o-").unwrap_or_default();
    if (10..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!(
            "{v:?} is not an organization id: `o-` and 10 to 32 lowercase letters or digits, like `o-a1b2c3d4e5`"
        ))
    }
}

/// An IAM path: `/` or `/segment/.../`, at most 512 characters.
pub fn check_iam_path(v: &str) -> Result<(), String> {
    let ok = v.len() <= 512
        && v.starts_with('/')
        && v.ends_with('/')
        && !v.contains("//")
        && v.chars().all(|c| c.is_ascii_graphic() && c != '*' && c != '?');
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?} is not an IAM path: it starts and ends with `/`, like `/replication/`."))
    }
}

/// An IAM managed policy ARN (for permissions boundaries), customer-managed or AWS-managed.
pub fn check_policy_arn(v: &str) -> Result<(), String> {
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && Partition::by_id(parts[1]).is_some()
        && parts[2] == "iam"
        && parts[3].is_empty()
        && (parts[4] == "aws" || parts[4].parse::<AccountId>().is_ok())
        && parts[5].starts_with("policy/");
    if ok {
        Ok(())
    } else {
        Err(format!("{v:?} is not an IAM policy ARN such as `arn:aws:iam::123456789012:policy/name`."))
    }
}

#[cfg(test)]
#[path = "arn_tests.rs"]
mod tests;
