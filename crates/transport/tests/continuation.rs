//! The ISO 7816 continuation driver against scripted transcripts (docs/protocol.md section 1).
//! Expected commands are written out from the ISO 7816-4 rules, not taken from the code.
#![allow(clippy::unwrap_used)]

use safeid_transport::mock::{Exchange, ScriptedTransport};
use safeid_transport::{
    MAX_GET_RESPONSE, MAX_WRONG_LENGTH, Response, Transport, TransportError, transmit,
};

/// Runs one command through `transmit` against `script` and checks the script finished.
fn run(script: Vec<Exchange>, command: &str) -> Result<Response, TransportError> {
    let mut mock = ScriptedTransport::new(script);
    let command = hex_bytes(command);
    let result = {
        let mut tx = mock.begin().unwrap();
        transmit(&mut *tx, &command)
    };
    mock.finish();
    result
}

fn hex_bytes(text: &str) -> Vec<u8> {
    text.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

#[test]
fn plain_reply_passes_through() {
    let r = run(
        vec![Exchange::ok("80 41 00 00 00", "AA BB 90 00")],
        "80 41 00 00 00",
    )
    .unwrap();
    assert_eq!(r.data(), &[0xAA, 0xBB]);
    assert_eq!(r.sw(), 0x9000);
}

#[test]
fn error_status_words_are_returned_not_interpreted() {
    let r = run(vec![Exchange::ok("80 41 00 00", "69 83")], "80 41 00 00").unwrap();
    assert_eq!(r.data(), &[] as &[u8]);
    assert_eq!(r.sw(), 0x6983);
}

#[test]
fn one_61_fetches_the_rest_with_get_response() {
    let r = run(
        vec![
            Exchange::ok("80 41 00 00 00", "61 04"),
            Exchange::ok("00 C0 00 00 04", "01 02 03 04 90 00"),
        ],
        "80 41 00 00 00",
    )
    .unwrap();
    assert_eq!(r.data(), &[1, 2, 3, 4]);
    assert_eq!(r.sw(), 0x9000);
}

#[test]
fn data_accumulates_across_a_61_chain() {
    let r = run(
        vec![
            Exchange::ok("80 41 00 00 00", "11 22 61 00"),
            Exchange::ok("00 C0 00 00 00", "33 61 02"),
            Exchange::ok("00 C0 00 00 02", "44 55 62 83"),
        ],
        "80 41 00 00 00",
    )
    .unwrap();
    assert_eq!(r.data(), &[0x11, 0x22, 0x33, 0x44, 0x55]);
    assert_eq!(r.sw(), 0x6283, "the last status word wins");
    assert_eq!(
        r.into_bytes(),
        vec![0x11, 0x22, 0x33, 0x44, 0x55, 0x62, 0x83]
    );
}

#[test]
fn wrong_length_appends_le_to_a_case_1_command() {
    let r = run(
        vec![
            Exchange::ok("80 41 00 00", "6C 10"),
            Exchange::ok("80 41 00 00 10", "AB 90 00"),
        ],
        "80 41 00 00",
    )
    .unwrap();
    assert_eq!(r.data(), &[0xAB]);
}

#[test]
fn wrong_length_replaces_le_of_a_case_2_command() {
    run(
        vec![
            Exchange::ok("00 B0 00 00 00", "6C 08"),
            Exchange::ok("00 B0 00 00 08", "90 00"),
        ],
        "00 B0 00 00 00",
    )
    .unwrap();
}

#[test]
fn wrong_length_appends_le_to_a_case_3_command() {
    run(
        vec![
            Exchange::ok("80 42 00 00 02 AA BB", "6C 20"),
            Exchange::ok("80 42 00 00 02 AA BB 20", "90 00"),
        ],
        "80 42 00 00 02 AA BB",
    )
    .unwrap();
}

#[test]
fn wrong_length_replaces_le_of_a_case_4_command() {
    run(
        vec![
            Exchange::ok("80 42 00 00 02 AA BB 00", "6C 20"),
            Exchange::ok("80 42 00 00 02 AA BB 20", "90 00"),
        ],
        "80 42 00 00 02 AA BB 00",
    )
    .unwrap();
}

#[test]
fn wrong_length_then_61_chain() {
    let r = run(
        vec![
            Exchange::ok("80 41 00 00", "6C 03"),
            Exchange::ok("80 41 00 00 03", "01 61 02"),
            Exchange::ok("00 C0 00 00 02", "02 03 90 00"),
        ],
        "80 41 00 00",
    )
    .unwrap();
    assert_eq!(r.data(), &[1, 2, 3]);
}

#[test]
fn wrong_length_during_get_response_rewrites_get_response() {
    let r = run(
        vec![
            Exchange::ok("80 41 00 00 00", "61 05"),
            Exchange::ok("00 C0 00 00 05", "6C 03"),
            Exchange::ok("00 C0 00 00 03", "07 08 09 90 00"),
        ],
        "80 41 00 00 00",
    )
    .unwrap();
    assert_eq!(r.data(), &[7, 8, 9]);
}

#[test]
fn endless_61_is_bounded() {
    let mut script = vec![Exchange::ok("80 41 00 00 00", "61 01")];
    for _ in 0..MAX_GET_RESPONSE {
        script.push(Exchange::ok("00 C0 00 00 01", "61 01"));
    }
    let err = run(script, "80 41 00 00 00").unwrap_err();
    assert!(matches!(err, TransportError::Continuation(_)), "{err:?}");
}

#[test]
fn endless_6c_is_bounded() {
    let mut script = vec![Exchange::ok("80 41 00 00", "6C 04")];
    for _ in 0..MAX_WRONG_LENGTH {
        script.push(Exchange::ok("80 41 00 00 04", "6C 04"));
    }
    let err = run(script, "80 41 00 00").unwrap_err();
    assert!(matches!(err, TransportError::Continuation(_)), "{err:?}");
}

#[test]
fn exactly_the_bound_still_succeeds() {
    let mut script = vec![Exchange::ok("80 41 00 00 00", "61 01")];
    for _ in 1..MAX_GET_RESPONSE {
        script.push(Exchange::ok("00 C0 00 00 01", "5A 61 01"));
    }
    script.push(Exchange::ok("00 C0 00 00 01", "5A 90 00"));
    let r = run(script, "80 41 00 00 00").unwrap();
    assert_eq!(r.data().len(), MAX_GET_RESPONSE);
}

#[test]
fn short_replies_are_errors() {
    assert_eq!(
        run(vec![Exchange::ok("80 41 00 00", "")], "80 41 00 00"),
        Err(TransportError::EmptyReply)
    );
    assert_eq!(
        run(vec![Exchange::ok("80 41 00 00", "90")], "80 41 00 00"),
        Err(TransportError::ShortReply { len: 1 })
    );
    // a short reply in the middle of a chain
    assert_eq!(
        run(
            vec![
                Exchange::ok("80 41 00 00 00", "61 04"),
                Exchange::ok("00 C0 00 00 04", "")
            ],
            "80 41 00 00 00"
        ),
        Err(TransportError::EmptyReply)
    );
}

#[test]
fn backend_errors_pass_through_without_retry() {
    assert_eq!(
        run(
            vec![
                Exchange::ok("80 41 00 00 00", "61 04"),
                Exchange::fail("00 C0 00 00 04", TransportError::CardRemoved),
            ],
            "80 41 00 00 00"
        ),
        Err(TransportError::CardRemoved)
    );
}

#[test]
fn malformed_commands_are_refused_before_sending() {
    for bad in [
        "",
        "80",
        "80 41 00",
        "80 41 00 00 00 01",
        "80 41 00 00 03 01 02",
    ] {
        let err = run(vec![], bad).unwrap_err();
        assert!(
            matches!(err, TransportError::MalformedCommand(_)),
            "{bad}: {err:?}"
        );
    }
}
