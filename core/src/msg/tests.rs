use super::*;
use crate::iana::cease;
use crate::nlri::AfiSafi;

fn frames(msgs: &[Message]) -> BytesMut {
    let mut out = BytesMut::new();
    for m in msgs {
        m.encode(&EncodeCtx::modern(), &mut out).unwrap();
    }
    out
}

#[test]
fn stream_of_messages_frames_and_decodes() {
    let msgs = vec![
        Message::Open(Open {
            version: 4,
            my_as: 65000,
            hold_time: 90,
            bgp_id: "192.0.2.7".parse().unwrap(),
            capabilities: vec![crate::cap::Capability::RouteRefresh],
        }),
        Message::Keepalive,
        Message::RouteRefresh(RouteRefresh::normal(AfiSafi::IPV6_UNICAST)),
        Message::Notification(Notification::cease_shutdown(cease::ADMIN_SHUTDOWN, "bye")),
    ];
    let wire = frames(&msgs);
    let ctx = DecodeCtx::modern();
    let mut rest = &wire[..];
    let mut got = Vec::new();
    // Feed growing prefixes as a socket would.
    let mut seen = 0;
    while !rest.is_empty() {
        let mut n = 0;
        let len = loop {
            n += 1;
            if let Some(len) = header::peek_len(&rest[..n.min(rest.len())], 4096).unwrap() {
                break len;
            }
            assert!(n < 19);
        };
        got.push(Message::decode(&rest[..len], &ctx).unwrap());
        rest = &rest[len..];
        seen += 1;
        assert!(seen <= msgs.len());
    }
    assert_eq!(got, msgs);
}

#[test]
fn frame_length_must_match_header() {
    let wire = frames(&[Message::Keepalive, Message::Keepalive]);
    let e = Message::decode(&wire, &DecodeCtx::modern()).unwrap_err();
    assert_eq!(e, MessageError::Header(HeaderError::BadLength { len: 38 }));
}

#[test]
fn errors_map_to_notifications() {
    let ctx = DecodeCtx::modern();
    let mut rr = frames(&[Message::RouteRefresh(RouteRefresh::normal(
        AfiSafi::IPV4_UNICAST,
    ))]);
    rr.extend_from_slice(&[0]);
    rr[17] = 24;
    let e = Message::decode(&rr, &ctx).unwrap_err();
    let n = Notification::from(&e);
    assert_eq!(
        (n.code, n.subcode, n.data),
        (ErrorCode::RouteRefresh, 1, rr.to_vec())
    );

    let mut open = frames(&[Message::Open(Open {
        version: 4,
        my_as: 1,
        hold_time: 3,
        bgp_id: "1.1.1.1".parse().unwrap(),
        capabilities: vec![],
    })]);
    open[28] = 5;
    let n = Notification::from(&Message::decode(&open, &ctx).unwrap_err());
    assert_eq!((n.code, n.subcode), (ErrorCode::Open, 0));

    let mut bad = frames(&[Message::Keepalive]);
    bad[18] = 9;
    let n = Notification::from(&Message::decode(&bad, &ctx).unwrap_err());
    assert_eq!(
        (n.code, n.subcode, n.data),
        (ErrorCode::MessageHeader, 3, vec![9])
    );
}

#[test]
fn update_delegates_to_the_update_codec() {
    // An empty UPDATE: withdrawn length 0, attributes length 0.
    let mut wire = vec![0xff; 16];
    wire.extend_from_slice(&[0, 23, 2, 0, 0, 0, 0]);
    let got = Message::decode(&wire, &DecodeCtx::modern());
    let direct = Update::decode(&wire[19..], &DecodeCtx::modern());
    match (got, direct) {
        (Ok(Message::Update(u)), Ok(d)) => assert_eq!(u, d.update),
        (Err(MessageError::Update(a)), Err(b)) => assert_eq!(a, b),
        (got, direct) => panic!("Message::decode {got:?} vs Update::decode {direct:?}"),
    }
}
