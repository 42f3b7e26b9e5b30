//! One test per RFC 7606 rule (and RFC 6793 §6, RFC 8092 §6, RFC 9234 §5):
//! the treatment, the error, and the NOTIFICATION it maps to.

use super::super::*;
use super::{AS_PATH_65000, NEXT_HOP, NLRI, ORIGIN_IGP, body, pfx};
use crate::attr::AsPath;
use crate::iana::{ErrorCode, update_error as sub};

fn decode4(b: &[u8]) -> Result<Decoded, UpdateError> {
    Update::decode(b, &DecodeCtx::modern())
}

/// The base attributes plus `extra`, with NLRI: decodes, expects
/// `treatment`, returns the result.
fn with_extra(extra: &[&[u8]], treatment: Treatment) -> Decoded {
    let mut attrs: Vec<&[u8]> = vec![ORIGIN_IGP, AS_PATH_65000, NEXT_HOP];
    attrs.extend_from_slice(extra);
    let d = decode4(&body(&[], &attrs, NLRI)).unwrap();
    assert_eq!(d.treatment, treatment, "{:?}", d.errors);
    d
}

/// Treat-as-withdraw moved the NLRI to the withdrawn list.
fn assert_withdrawn(d: &Decoded) {
    assert!(d.update.nlri.is_empty());
    assert_eq!(
        d.update.withdrawn,
        [pfx("10.0.0.0/8"), pfx("192.168.1.0/24")]
    );
    assert_eq!(d.update.attrs, PathAttributes::default());
}

fn only_error(d: &Decoded) -> &UpdateError {
    assert_eq!(d.errors.len(), 1, "{:?}", d.errors);
    &d.errors[0]
}

#[test]
fn flags_conflict_is_treat_as_withdraw_with_attribute_data() {
    // ORIGIN sent as optional: "the attribute MUST be treated as malformed
    // and the "treat-as-withdraw" approach used" (§3 c).
    let bad = [0xC0, 1, 1, 0];
    let d = decode4(&body(&[], &[&bad, AS_PATH_65000, NEXT_HOP], NLRI)).unwrap();
    assert_eq!(d.treatment, Treatment::TreatAsWithdraw);
    assert_withdrawn(&d);
    let e = d
        .errors
        .iter()
        .find(|e| matches!(e, UpdateError::AttributeFlags { .. }))
        .unwrap();
    let n = NotificationData::from(e);
    assert_eq!(
        (n.code, n.subcode, n.data),
        (ErrorCode::Update, sub::ATTRIBUTE_FLAGS_ERROR, bad.to_vec())
    );
    assert!(matches!(
        e,
        UpdateError::AttributeFlags {
            offset: 4,
            flags: 0xC0,
            ..
        }
    ));
}

#[test]
fn duplicate_attribute_keeps_first() {
    let d = with_extra(
        &[&[0x80, 4, 4, 0, 0, 0, 1], &[0x80, 4, 4, 0, 0, 0, 2]],
        Treatment::AttributeDiscard,
    );
    assert_eq!(d.update.attrs.med, Some(1));
    assert_eq!(d.update.nlri.len(), 2);
    assert!(matches!(
        only_error(&d),
        UpdateError::DuplicateAttribute { type_code: 4, .. }
    ));
}

#[test]
fn duplicate_mp_reach_is_session_reset() {
    let mp = [0x80, 15, 3, 0, 2, 1];
    let e = decode4(&body(&[], &[&mp, &mp], &[])).unwrap_err();
    assert!(matches!(
        e,
        UpdateError::DuplicateAttribute { type_code: 15, .. }
    ));
    let (code, subcode, data) = <(ErrorCode, u8, Vec<u8>)>::from(&e);
    assert_eq!(
        (code, subcode, data),
        (ErrorCode::Update, sub::MALFORMED_ATTRIBUTE_LIST, vec![])
    );
}

#[test]
fn missing_well_known_only_with_nlri() {
    let d = decode4(&body(&[], &[ORIGIN_IGP, NEXT_HOP], NLRI)).unwrap();
    assert_eq!(d.treatment, Treatment::TreatAsWithdraw);
    assert_withdrawn(&d);
    let e = only_error(&d);
    assert_eq!(*e, UpdateError::MissingWellKnown { type_code: 2 });
    assert_eq!(e.notification().data, [2]);
    assert_eq!(e.notification().subcode, sub::MISSING_WELL_KNOWN_ATTRIBUTE);
    // NEXT_HOP missing with an NLRI field.
    let d = decode4(&body(&[], &[ORIGIN_IGP, AS_PATH_65000], NLRI)).unwrap();
    assert_eq!(
        *only_error(&d),
        UpdateError::MissingWellKnown { type_code: 3 }
    );
    // No NLRI: nothing is mandatory.
    let d = decode4(&body(&[8, 10], &[AS_PATH_65000], &[])).unwrap();
    assert_eq!(d.treatment, Treatment::Normal);
}

#[test]
fn malformed_as_path_is_treat_as_withdraw() {
    for bad in [
        &[0x40, 2, 6, 5, 1, 0, 0, 0xfd, 0xe8][..], // segment type 5
        &[0x40, 2, 2, 2, 0],                       // zero-length segment
        &[0x40, 2, 6, 2, 2, 0, 0, 0xfd, 0xe8],     // segment overrun
        &[0x40, 2, 7, 2, 1, 0, 0, 0xfd, 0xe8, 2],  // trailing octet
    ] {
        let d = decode4(&body(&[], &[ORIGIN_IGP, bad, NEXT_HOP], NLRI)).unwrap();
        assert_eq!(d.treatment, Treatment::TreatAsWithdraw);
        assert_withdrawn(&d);
        let e = d.errors.first().unwrap();
        assert!(matches!(
            e,
            UpdateError::MalformedAsPath {
                offset: 8,
                type_code: 2
            }
        ));
        assert_eq!(e.notification().subcode, sub::MALFORMED_AS_PATH);
    }
}

#[test]
fn origin_undefined_value_is_treat_as_withdraw() {
    let bad = [0x40, 1, 1, 3];
    let d = decode4(&body(&[], &[&bad, AS_PATH_65000, NEXT_HOP], NLRI)).unwrap();
    assert_eq!(d.treatment, Treatment::TreatAsWithdraw);
    let e = d.errors.first().unwrap();
    assert!(matches!(e, UpdateError::InvalidOrigin { .. }));
    assert_eq!(e.notification().subcode, sub::INVALID_ORIGIN_ATTRIBUTE);
    assert_eq!(e.notification().data, bad);
}

/// Replaces one base attribute by `bad` and expects treat-as-withdraw with
/// an Attribute Length Error carrying `bad`.
fn length_taw(replace: usize, bad: &[u8]) {
    let mut attrs: Vec<&[u8]> = vec![ORIGIN_IGP, AS_PATH_65000, NEXT_HOP];
    attrs[replace] = bad;
    let d = decode4(&body(&[], &attrs, NLRI)).unwrap();
    assert_eq!(d.treatment, Treatment::TreatAsWithdraw);
    assert_withdrawn(&d);
    let e = d
        .errors
        .iter()
        .find(|e| matches!(e, UpdateError::AttributeLength { .. }))
        .unwrap();
    assert_eq!(e.notification().subcode, sub::ATTRIBUTE_LENGTH_ERROR);
    assert_eq!(e.notification().data, bad);
}

#[test]
fn origin_bad_length_is_treat_as_withdraw() {
    length_taw(0, &[0x40, 1, 2, 0, 0]);
}

#[test]
fn next_hop_bad_length_is_treat_as_withdraw() {
    length_taw(2, &[0x40, 3, 5, 192, 0, 2, 1, 0]);
}

fn extra_taw(bad: &[u8], type_code: u8) {
    let d = with_extra(&[bad], Treatment::TreatAsWithdraw);
    assert_withdrawn(&d);
    match only_error(&d) {
        UpdateError::AttributeLength {
            type_code: t, data, ..
        } => {
            assert_eq!((*t, data.as_slice()), (type_code, bad));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn med_and_local_pref_bad_length_are_treat_as_withdraw() {
    extra_taw(&[0x80, 4, 3, 0, 0, 1], 4);
    extra_taw(&[0x40, 5, 5, 0, 0, 0, 0, 1], 5);
}

#[test]
fn communities_not_multiple_of_four_is_treat_as_withdraw() {
    extra_taw(&[0xC0, 8, 6, 0, 0, 0, 1, 0, 0], 8);
    extra_taw(&[0xC0, 8, 0], 8);
}

#[test]
fn originator_id_and_cluster_list_malformed_are_treat_as_withdraw() {
    extra_taw(&[0x80, 9, 3, 10, 0, 0], 9);
    extra_taw(&[0x80, 10, 6, 10, 0, 0, 1, 10, 0], 10);
}

#[test]
fn ext_large_ipv6ext_communities_bad_length_are_treat_as_withdraw() {
    extra_taw(&[0xC0, 16, 7, 0, 2, 0, 0, 0, 0, 1], 16);
    extra_taw(&[0xC0, 32, 13, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 4], 32);
    let mut v6 = vec![0xC0, 25, 19];
    v6.extend_from_slice(&[0; 19]);
    extra_taw(&v6, 25);
}

#[test]
fn otc_bad_length_is_treat_as_withdraw() {
    extra_taw(&[0xC0, 35, 3, 0, 0, 1], 35);
}

#[test]
fn atomic_aggregate_and_aggregator_malformed_are_discarded() {
    for (bad, t) in [
        (&[0x40, 6, 1, 0][..], 6u8),
        (&[0xC0, 7, 7, 0, 0, 0xfd, 0xe8, 10, 0, 0][..], 7),
    ] {
        let d = with_extra(&[bad], Treatment::AttributeDiscard);
        assert_eq!(d.update.nlri.len(), 2, "routes stand");
        assert!(!d.update.attrs.rare.atomic_aggregate);
        assert_eq!(d.update.attrs.rare.aggregator, None);
        assert!(
            matches!(only_error(&d), UpdateError::AttributeLength { type_code, .. } if *type_code == t)
        );
    }
}

#[test]
fn as4_attributes_malformed_are_discarded() {
    let ctx = DecodeCtx::legacy();
    let as_path2 = [0x40, 2, 4, 2, 1, 0, 100];
    for bad in [
        &[0xC0, 17, 3, 2, 1, 0][..],
        &[0xC0, 18, 7, 0, 0, 0, 1, 10, 0, 0][..],
    ] {
        let b = body(&[], &[ORIGIN_IGP, &as_path2, NEXT_HOP, bad], NLRI);
        let d = Update::decode(&b, &ctx).unwrap();
        assert_eq!(d.treatment, Treatment::AttributeDiscard);
        assert_eq!(d.update.nlri.len(), 2);
        assert_eq!(d.update.attrs.as_path, AsPath::from_sequence([100]));
    }
}

#[test]
fn attribute_overrunning_section_is_treat_as_withdraw() {
    // NEXT_HOP claims 9 octets; only 4 remain in the section.
    let bad = [0x40, 3, 9, 192, 0, 2, 1];
    let d = decode4(&body(&[], &[ORIGIN_IGP, AS_PATH_65000, &bad], NLRI)).unwrap();
    assert_eq!(d.treatment, Treatment::TreatAsWithdraw);
    assert_withdrawn(&d);
    assert!(
        d.errors
            .contains(&UpdateError::AttributeOverrun { offset: 17 })
    );
    // Fewer than three octets left for an attribute header.
    let d = decode4(&body(
        &[],
        &[ORIGIN_IGP, AS_PATH_65000, NEXT_HOP, &[0x40, 1]],
        NLRI,
    ))
    .unwrap();
    assert_eq!(d.treatment, Treatment::TreatAsWithdraw);
}

#[test]
fn length_fields_overrunning_message_are_session_reset() {
    let mut b = body(&[8, 10], &[], &[]);
    b[1] = 9;
    assert!(matches!(
        decode4(&b),
        Err(UpdateError::WithdrawnLength { offset: 0, len: 9 })
    ));
    let mut b = body(&[], &[ORIGIN_IGP], &[]);
    b[3] = 5;
    let e = decode4(&b).unwrap_err();
    assert!(matches!(
        e,
        UpdateError::AttributesLength { offset: 2, len: 5 }
    ));
    assert_eq!(e.notification().subcode, sub::MALFORMED_ATTRIBUTE_LIST);
    assert!(decode4(&[0]).is_err());
}

#[test]
fn nlri_field_malformed_is_session_reset() {
    let b = body(
        &[],
        &[ORIGIN_IGP, AS_PATH_65000, NEXT_HOP],
        &[8, 10, 33, 1, 2, 3, 4, 5],
    );
    let e = decode4(&b).unwrap_err();
    let nlri_at = 4 + 4 + 9 + 7;
    assert_eq!(
        e,
        UpdateError::InvalidNetworkField {
            offset: nlri_at + 2,
            family: AfiSafi::IPV4_UNICAST
        }
    );
    assert_eq!(e.notification().subcode, sub::INVALID_NETWORK_FIELD);
    // Withdrawn Routes ending inside a prefix.
    assert!(decode4(&body(&[24, 10, 0], &[], &[])).is_err());
}

fn mp_reach_v6(nh_len: u8, nh: &[u8], nlri: &[u8]) -> Vec<u8> {
    let mut v = vec![0, 2, 1, nh_len];
    v.extend_from_slice(nh);
    v.push(0);
    v.extend_from_slice(nlri);
    let mut a = vec![0x80, 14, u8::try_from(v.len()).unwrap()];
    a.extend_from_slice(&v);
    a
}

#[test]
fn mp_reach_bad_next_hop_length_is_afi_safi_disable() {
    let mp = mp_reach_v6(
        8,
        &[0x20, 1, 0xd, 0xb8, 0, 0, 0, 1],
        &[32, 0x20, 1, 0xd, 0xb8],
    );
    let d = decode4(&body(&[], &[&mp, ORIGIN_IGP, AS_PATH_65000], &[])).unwrap();
    assert_eq!(d.treatment, Treatment::AfiSafiDisable);
    assert_eq!(d.update.mp_reach, None);
    let e = only_error(&d);
    assert_eq!(e.family(), Some(AfiSafi::IPV6_UNICAST));
    assert_eq!(e.notification().subcode, sub::OPTIONAL_ATTRIBUTE_ERROR);
    assert_eq!(e.notification().data, mp);
}

#[test]
fn mp_reach_malformed_nlri_is_afi_safi_disable_and_ipv4_stands() {
    let mp = mp_reach_v6(16, &[0x20; 16], &[129, 0]);
    let d = decode4(&body(
        &[],
        &[&mp, ORIGIN_IGP, AS_PATH_65000, NEXT_HOP],
        NLRI,
    ))
    .unwrap();
    assert_eq!(d.treatment, Treatment::AfiSafiDisable);
    assert_eq!(d.update.nlri.len(), 2, "IPv4 NLRI unaffected");
    assert!(matches!(
        only_error(&d),
        UpdateError::InvalidNetworkField { offset, family } if *offset == 4 + 3 + 21 && *family == AfiSafi::IPV6_UNICAST
    ));
}

#[test]
fn mp_unreach_malformed_is_afi_safi_disable_and_too_short_is_reset() {
    let d = decode4(&body(&[], &[&[0x80, 15, 5, 0, 2, 1, 64, 0x20]], &[])).unwrap();
    assert_eq!(d.treatment, Treatment::AfiSafiDisable);
    assert_eq!(d.update.mp_unreach, None);
    let e = decode4(&body(&[], &[&[0x80, 15, 2, 0, 2]], &[])).unwrap_err();
    assert!(matches!(
        e,
        UpdateError::OptionalAttribute { family: None, .. }
    ));
    let e = decode4(&body(&[], &[&[0x80, 14, 2, 0, 2]], &[])).unwrap_err();
    assert!(matches!(
        e,
        UpdateError::OptionalAttribute { type_code: 14, .. }
    ));
}

#[test]
fn mp_reach_flags_error_withdraws_its_nlri() {
    let mut mp = mp_reach_v6(16, &[0x20; 16], &[32, 0x20, 1, 0xd, 0xb8]);
    mp[0] = 0xC0;
    let d = decode4(&body(&[], &[&mp, ORIGIN_IGP, AS_PATH_65000], &[])).unwrap();
    assert_eq!(d.treatment, Treatment::TreatAsWithdraw);
    assert_eq!(d.update.mp_reach, None);
    let u = d.update.mp_unreach.unwrap();
    assert_eq!(
        (u.family, u.withdrawn),
        (AfiSafi::IPV6_UNICAST, vec![pfx("2001:db8::/32")])
    );
}

#[test]
fn unsupported_family_is_afi_safi_disable() {
    // AFI 1 / SAFI 128 (VPN).
    let d = decode4(&body(&[], &[&[0x80, 15, 3, 0, 1, 128]], &[])).unwrap();
    assert_eq!(d.treatment, Treatment::AfiSafiDisable);
    assert!(matches!(
        only_error(&d),
        UpdateError::UnsupportedFamily {
            afi: 1,
            safi: 128,
            ..
        }
    ));
}

#[test]
fn unrecognized_well_known_is_session_reset() {
    let bad = [0x40, 99, 1, 0];
    let e = decode4(&body(
        &[],
        &[ORIGIN_IGP, AS_PATH_65000, NEXT_HOP, &bad],
        NLRI,
    ))
    .unwrap_err();
    let n = e.notification();
    assert_eq!(
        (n.subcode, n.data),
        (sub::UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE, bad.to_vec())
    );
}

#[test]
fn strongest_treatment_wins() {
    // Attribute discard (ATOMIC_AGGREGATE) and treat-as-withdraw (MED).
    let d = with_extra(
        &[&[0x80, 4, 3, 0, 0, 1], &[0x40, 6, 1, 0]],
        Treatment::TreatAsWithdraw,
    );
    assert_eq!(d.errors.len(), 2);
    assert_withdrawn(&d);
}
