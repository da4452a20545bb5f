use super::*;

#[test]
fn partitions_of_regions_and_arns() {
    let of = |r: &str| Partition::of_region(r).id;
    assert_eq!(of("us-east-1"), "aws");
    assert_eq!(of("cn-north-1"), "aws-cn");
    assert_eq!(of("us-gov-west-1"), "aws-us-gov");
    assert_eq!(of("us-iso-east-1"), "aws-iso");
    assert_eq!(of("us-isob-east-1"), "aws-iso-b");
    assert_eq!(of("eu-isoe-west-1"), "aws-iso-e");
    assert_eq!(of("us-isof-south-1"), "aws-iso-f");
    assert_eq!(of("eusc-de-east-1"), "aws-eusc");
    assert_eq!(Partition::by_id("aws-cn").unwrap().dns_suffix, "amazonaws.com.cn");
    assert!(Partition::by_id("amazon").is_none());
    for r in ["us-east-1", "us-gov-west-1", "eusc-de-east-1", "us-isob-east-1"] {
        assert!(is_region(r), "{r}");
    }
    for r in ["", "us", "us-east", "US-east-1", "us-east-x", "useast-1", "nowhere"] {
        assert!(!is_region(r), "{r}");
    }
}

#[test]
fn account_ids_iam_names_and_paths() {
    assert!("111111111111".parse::<AccountId>().is_ok());
    assert!("11111111111".parse::<AccountId>().unwrap_err().contains("12 digits"));
    assert!("11111111111a".parse::<AccountId>().is_err());
    assert!(check_iam_name("crossrepl-acme.data").is_ok());
    assert!(check_iam_name("").is_err() && check_iam_name(&"a".repeat(65)).is_err() && check_iam_name("a b").is_err());
    assert_eq!(account_of("arn:aws:iam::111111111111:role/r"), Some("111111111111"));
    assert_eq!(account_of("arn:aws:s3:::bucket"), None);
    assert!(check_iam_path("/").is_ok() && check_iam_path("/team/replication/").is_ok());
    assert!(check_iam_name_pattern("crossrepl-*").is_ok() && check_iam_name_pattern("repl-??-x").is_ok());
    assert!(check_iam_name_pattern("*").is_err() && check_iam_name_pattern("*?").is_err());
    assert!(check_iam_name_pattern("a/b*").is_err() && check_iam_name_pattern("").is_err());
    assert!(
        check_organization_id("o-a1b2c3d4e5").is_ok()
            && check_organization_id(&format!("o-{}", "a".repeat(32))).is_ok()
    );
    assert!(check_organization_id("o-a1b2c3d4e").is_err() && check_organization_id("o-A1B2C3D4E5").is_err());
    assert!(
        check_organization_id("a1b2c3d4e5ff").is_err()
            && check_organization_id(&format!("o-{}", "a".repeat(33))).is_err()
    );
    assert!(check_iam_path("team/").is_err() && check_iam_path("/a//b/").is_err() && check_iam_path("/a").is_err());
    assert!(check_policy_arn("arn:aws:iam::aws:policy/Boundary").is_ok());
    assert!(check_policy_arn("arn:aws:iam::123456789012:policy/x/y").is_ok());
    assert!(check_policy_arn("arn:aws:iam::123456789012:role/x").is_err());
    assert!(check_policy_arn("arn:amazon:iam::123456789012:policy/x").is_err());
}

#[test]
fn bucket_names_follow_the_s3_rules() {
    for ok in ["abc", "acme-data", "a.b.c", "1bucket9", &"a".repeat(63), "my-bucket-111111111111-us-east-1-an"] {
        assert!(ok.parse::<BucketName>().is_ok(), "{ok}");
    }
    for bad in [
        "ab",
        &"a".repeat(64),
        "Acme",
        "acme_data",
        "-acme",
        "acme-",
        ".acme",
        "ac..me",
        "192.168.5.4",
        "xn--acme",
        "sthree-acme",
        "amzn-s3-demo-bucket",
        "acme-s3alias",
        "acme--ol-s3",
        "acme.mrap",
        "acme--x-s3",
        "acme--table-s3",
        "acmé",
    ] {
        assert!(bad.parse::<BucketName>().is_err(), "{bad}");
    }
}

#[test]
fn bucket_arns() {
    let arn: BucketArn = "arn:aws-cn:s3:::b.c".parse().unwrap();
    assert_eq!((arn.partition.id, arn.bucket.as_str()), ("aws-cn", "b.c"));
    for bad in [
        "acme-dr",
        "arn:aws:s3:::Acme",
        "arn:aws:s3:::acme/*",
        "arn:aws:s3:us-east-1::acme",
        "arn:aws:s3::111111111111:acme",
        "arn:amazon:s3:::acme",
        "arn:aws:iam:::acme",
        "arn:aws:s3:::ac..me",
    ] {
        assert!(bad.parse::<BucketArn>().is_err(), "{bad}");
    }
    assert_eq!(BucketArn::name_of("arn:aws:s3:::acme-dr"), Some("acme-dr"));
    for bad in ["", "acme", "arn:aws:s3:::", "arn:aws:s3:::b/key", "arn:aws:iam::1:role/x", "arn::s3:::b"] {
        assert_eq!(BucketArn::name_of(bad), None, "{bad}");
    }
    assert_eq!(bucket_arn(&PARTITIONS[1], "b"), "arn:aws-cn:s3:::b");
}

#[test]
fn role_arns() {
    let r: RoleArn = "arn:aws:iam::111111111111:role/replication/crossrepl-src".parse().unwrap();
    assert_eq!(
        (r.account.as_str(), r.path.as_str(), r.name.as_str()),
        ("111111111111", "/replication/", "crossrepl-src")
    );
    let plain: RoleArn = "arn:aws-eusc:iam::111111111111:role/r".parse().unwrap();
    assert_eq!(plain.path, "/");
    for bad in ["arn:aws:iam::111111111111:role/", "arn:aws:iam::1111:role/r", "arn:aws:iam::111111111111:user/r"] {
        assert!(bad.parse::<RoleArn>().is_err(), "{bad}");
    }
    assert_eq!(role_arn(&PARTITIONS[0], "111111111111", "/a/", "r"), "arn:aws:iam::111111111111:role/a/r");
}

#[test]
fn kms_key_arns() {
    let key: KmsKeyArn = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab".parse().unwrap();
    assert_eq!((key.region.as_str(), key.account.as_str()), ("eu-west-1", "222222222222"));
    for bad in [
        "alias/replica",
        "arn:aws:kms:eu-west-1:222222222222:alias/replica",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:2222:key/abc",
        "arn:aws:kms:nowhere:222222222222:key/abc",
        "arn:aws:kms:eu-west-1:222222222222:key/",
        "arn:aws:s3:eu-west-1:222222222222:key/abc",
    ] {
        assert!(bad.parse::<KmsKeyArn>().is_err(), "{bad}");
    }
    assert!("alias/replica".parse::<KmsKeyArn>().unwrap_err().contains("alias"));
    assert!("arn:aws-eusc:kms:eusc-de-east-1:222222222222:key/k".parse::<KmsKeyArn>().is_ok());
}

#[test]
fn kms_alias_arns() {
    let alias: KmsAliasArn = "arn:aws:kms:eu-west-1:222222222222:alias/team/replicas_1".parse().unwrap();
    assert_eq!((alias.region.as_str(), alias.account.as_str()), ("eu-west-1", "222222222222"));
    for bad in [
        "alias/replica",
        "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab",
        "arn:aws:kms:eu-west-1:222222222222:alias/",
        "arn:aws:kms:eu-west-1:222222222222:alias/with space",
        "arn:aws:kms:nowhere:222222222222:alias/a",
        "arn:aws:kms:eu-west-1:2222:alias/a",
        "arn:aws:s3:eu-west-1:222222222222:alias/a",
        "arn:nope:kms:eu-west-1:222222222222:alias/a",
    ] {
        assert!(bad.parse::<KmsAliasArn>().is_err(), "{bad}");
    }
    // Aliases of AWS managed keys: no other account may use those keys.
    let managed = "arn:aws:kms:eu-west-1:222222222222:alias/aws/s3".parse::<KmsAliasArn>().unwrap_err();
    assert!(managed.contains("AWS managed"), "{managed}");
}

#[test]
fn default_key_arns_from_what_s3_reports() {
    let aws = &PARTITIONS[0];
    let arn = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    assert_eq!(default_key_arn(arn, aws, "us-east-1", "111111111111").as_deref(), Some(arn));
    assert_eq!(
        default_key_arn("1234abcd-12ab-34cd-56ef-1234567890ab", aws, "eu-west-1", "222222222222").as_deref(),
        Some(arn)
    );
    let gov = Partition::of_region("us-gov-west-1");
    assert_eq!(
        default_key_arn("mrk-1", gov, "us-gov-west-1", "222222222222").as_deref(),
        Some("arn:aws-us-gov:kms:us-gov-west-1:222222222222:key/mrk-1")
    );
    for alias in ["alias/my-key", "arn:aws:kms:eu-west-1:222222222222:alias/my-key", ""] {
        assert_eq!(default_key_arn(alias, aws, "eu-west-1", "222222222222"), None, "{alias}");
    }
}
