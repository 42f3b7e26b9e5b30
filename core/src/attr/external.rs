//! RFC 7606 rules that depend on the session being external (eBGP and not
//! within our confederation). The codec context does not know the peer's
//! role, so the import path applies these after decoding.

use super::{PathAttributes, SegmentType};
use crate::msg::update::Treatment;

/// Applies the "received from an external neighbor" rules to `attrs` and
/// returns the treatment they call for.
///
/// - LOCAL_PREF: "If it is received from an external neighbor, it SHALL be
///   discarded using the approach of "attribute discard"" (RFC 7606 §7.5);
///   the same for ORIGINATOR_ID (§7.9) and CLUSTER_LIST (§7.10). These are
///   removed from `attrs`.
/// - AS_CONFED_SEQUENCE / AS_CONFED_SET from a neighbor outside the
///   confederation make the AS_PATH malformed (RFC 5065 §5.3), which RFC
///   7606 §7.2 handles with treat-as-withdraw: `attrs` is left as is and
///   [`Treatment::TreatAsWithdraw`] returned.
///
/// Call it for eBGP sessions (including route server clients) only.
pub fn apply_external_peer_rules(attrs: &mut PathAttributes) -> Treatment {
    let confed = attrs
        .as_path
        .segments()
        .any(|s| matches!(s.kind, SegmentType::ConfedSequence | SegmentType::ConfedSet));
    let discard = attrs.local_pref.take().is_some() | attrs.rare.take_reflection();
    if confed {
        Treatment::TreatAsWithdraw
    } else if discard {
        Treatment::AttributeDiscard
    } else {
        Treatment::Normal
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::attr::{AsPath, RareAttributes, Segment};

    #[test]
    fn external_rules_discard_ibgp_attributes_and_reject_confed() {
        let mut a = PathAttributes {
            as_path: AsPath::from_sequence([65000]),
            local_pref: Some(200),
            rare: RareAttributes {
                originator_id: Some(Ipv4Addr::new(10, 0, 0, 1)),
                cluster_list: vec![Ipv4Addr::new(10, 0, 0, 2)].into(),
                ..RareAttributes::default()
            }
            .into(),
            med: Some(5),
            ..PathAttributes::default()
        };
        assert_eq!(
            apply_external_peer_rules(&mut a),
            Treatment::AttributeDiscard
        );
        assert_eq!(
            (
                a.local_pref,
                a.rare.originator_id,
                a.rare.cluster_list.len()
            ),
            (None, None, 0)
        );
        assert_eq!(a.med, Some(5));
        assert_eq!(apply_external_peer_rules(&mut a), Treatment::Normal);
        let confed = Segment {
            kind: SegmentType::ConfedSequence,
            asns: vec![65001],
        };
        a.as_path = AsPath::from_segments(std::iter::once(confed).chain(a.as_path.to_segments()));
        assert_eq!(
            apply_external_peer_rules(&mut a),
            Treatment::TreatAsWithdraw
        );
    }
}
