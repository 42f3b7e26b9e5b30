//! `Update::decode` and `UpdateView::parse` over arbitrary UPDATE bodies
//! under every decode context (2/4-octet AS, ADD-PATH on/off per family,
//! extended messages).
//!
//! Input: selector byte (see `rampart_fuzz::split_ctx`) ‖ UPDATE body (the
//! bytes after the 19-octet header). Neither decoder may panic; every view
//! iterator must run to its count; and where both decoders accept the
//! message without error they must agree on its NLRI.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_core::msg::update::{Treatment, Update, UpdateView};
use rampart_core::nlri::Nlri;

fuzz_target!(|data: &[u8]| {
    let Some((ctx, body)) = rampart_fuzz::split_ctx(data) else {
        return;
    };
    let owned = Update::decode(body, &ctx);
    if let Ok(d) = &owned {
        assert!(
            (d.treatment == Treatment::Normal) == d.errors.is_empty(),
            "treatment {:?} with errors {:?}",
            d.treatment,
            d.errors
        );
        if d.treatment == Treatment::TreatAsWithdraw {
            assert!(d.update.nlri.is_empty(), "treat-as-withdraw kept NLRI");
        }
    }
    let Ok(view) = UpdateView::parse(body, &ctx) else {
        return;
    };
    let withdrawn: Vec<Nlri> = view.withdrawn().collect();
    let nlri: Vec<Nlri> = view.nlri().collect();
    assert_eq!(withdrawn.len(), view.withdrawn_count());
    assert_eq!(nlri.len(), view.nlri_count());
    let attrs = view.attributes().count();
    assert!(attrs <= view.attr_bytes().len() / 3 + 1);
    let _ = view.end_of_rib();
    if let Ok(Some(r)) = view.mp_reach() {
        assert_eq!(r.nlri().count(), r.nlri_count());
    }
    if let Ok(Some(u)) = view.mp_unreach() {
        assert_eq!(u.withdrawn().count(), u.withdrawn_count());
    }
    let view_attrs = view.decode_attributes(&ctx);
    if let (Ok(d), Ok(a)) = (&owned, &view_attrs)
        && d.treatment == Treatment::Normal
        && a.treatment == Treatment::Normal
    {
        assert_eq!(d.update.nlri, nlri, "owned and view NLRI differ");
        assert_eq!(
            d.update.withdrawn, withdrawn,
            "owned and view withdrawn differ"
        );
        assert_eq!(d.update.attrs, a.attrs, "owned and view attributes differ");
    }
});
