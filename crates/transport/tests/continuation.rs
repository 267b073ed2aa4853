//! The ISO 7816 continuation driver against scripted transcripts (docs/protocol.md section 1).
//! Expected commands are written out from the ISO 7816-4 rules, not taken from the code.
#![allow(clippy::unwrap_used)]

use safeid_transport::mock::{Exchange, ScriptedTransport};
use safeid_transport::{
    MAX_GET_RESPONSE, MAX_WRONG_LENGTH, Resend, Response, Transport, TransportError, transmit,
};

/// Runs one command that may be re-sent through `transmit` against `script` and checks
/// the script finished.
fn run(script: Vec<Exchange>, command: &str) -> Result<Response, TransportError> {
    run_with(script, command, Resend::Allowed).0
}

/// Runs one command through `transmit` with `resend` against `script`, checks the script
/// finished, and returns the result and the commands sent, as hex.
fn run_with(
    script: Vec<Exchange>,
    command: &str,
    resend: Resend,
) -> (Result<Response, TransportError>, Vec<String>) {
    let mut mock = ScriptedTransport::new(script);
    let command = hex_bytes(command);
    let result = {
        let mut tx = mock.begin().unwrap();
        transmit(&mut *tx, &command, resend)
    };
    let sent = mock.sent_hex();
    mock.finish();
    (result, sent)
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

// The secure commands of docs/protocol.md section 3, with the headers the section gives and
// bodies of recognisable filler bytes: authenticate (`80 CE 00 00 10` + 16 bytes), write
// config (`84 D4 00 00 17` + 19 bytes of TLV + 4 of MAC), write seed (`84 C5 01 00 24` +
// 32 bytes of ciphertext + 4 of MAC).
const AUTHENTICATE: (&str, &str, usize) = ("authenticate", "80 CE 00 00 10", 16);
const WRITE_CONFIG: (&str, &str, usize) = ("write config", "84 D4 00 00 17", 23);
const WRITE_SEED: (&str, &str, usize) = ("write seed", "84 C5 01 00 24", 36);
const SECURE: [(&str, &str, usize); 3] = [AUTHENTICATE, WRITE_CONFIG, WRITE_SEED];

/// The header followed by `body_len` bytes of `5A`.
fn secure_command(header: &str, body_len: usize) -> String {
    let body = vec!["5A"; body_len].join(" ");
    format!("{header} {body}")
}

#[test]
fn wrong_le_to_a_secure_command_is_an_error_and_nothing_is_re_sent() {
    for (name, header, body_len) in SECURE {
        let command = secure_command(header, body_len);
        let (result, sent) = run_with(
            // The script holds exactly one exchange: a re-send would hit the end of the
            // script and panic.
            vec![Exchange::ok(command.as_str(), "6C 10").label(name)],
            &command,
            Resend::Never { command: name },
        );
        assert_eq!(
            sent,
            std::slice::from_ref(&command),
            "{name}: sent exactly once"
        );
        let err = result.unwrap_err();
        assert_eq!(
            err,
            TransportError::NotResent {
                command: name,
                header: header.to_owned(),
                le: 0x10,
            }
        );
        let message = err.to_string();
        assert!(
            message.contains(name) && message.contains(header),
            "{message}"
        );
        assert!(message.contains("6C 10"), "{message}");
        assert!(!message.contains("5A"), "the body leaked: {message}");
    }
}

#[test]
fn get_response_after_61_to_a_secure_command_is_sent() {
    for (name, header, body_len) in SECURE {
        let command = secure_command(header, body_len);
        let (result, sent) = run_with(
            vec![
                Exchange::ok(command.as_str(), "61 02").label(name),
                Exchange::ok("00 C0 00 00 02", "AB CD 90 00").label("GET RESPONSE"),
            ],
            &command,
            Resend::Never { command: name },
        );
        let response = result.unwrap();
        assert_eq!(
            (response.data(), response.sw()),
            (&[0xAB, 0xCD][..], 0x9000)
        );
        assert_eq!(
            sent,
            [command.clone(), "00 C0 00 00 02".to_owned()],
            "{name}"
        );
    }
}

#[test]
fn wrong_le_to_the_get_response_of_a_secure_command_re_sends_get_response_only() {
    for (name, header, body_len) in SECURE {
        let command = secure_command(header, body_len);
        let (result, sent) = run_with(
            vec![
                Exchange::ok(command.as_str(), "61 05").label(name),
                Exchange::ok("00 C0 00 00 05", "6C 02"),
                Exchange::ok("00 C0 00 00 02", "90 00"),
            ],
            &command,
            Resend::Never { command: name },
        );
        assert_eq!(result.unwrap().sw(), 0x9000);
        assert_eq!(
            sent.iter().filter(|c| **c == command).count(),
            1,
            "{name} sent once: {sent:?}"
        );
    }
}

#[test]
fn a_secure_command_with_a_plain_reply_is_sent_once() {
    for (name, header, body_len) in SECURE {
        let command = secure_command(header, body_len);
        let (result, sent) = run_with(
            vec![Exchange::ok(command.as_str(), "69 83")],
            &command,
            Resend::Never { command: name },
        );
        assert_eq!(result.unwrap().sw(), 0x6983);
        assert_eq!(sent.len(), 1);
    }
}

#[test]
fn get_info_and_get_challenge_may_be_re_sent_after_6c() {
    // get info `80 41 00 00 02 02 11` is case 3: Le is appended.
    let (result, sent) = run_with(
        vec![
            Exchange::ok("80 41 00 00 02 02 11", "6C 15"),
            Exchange::ok("80 41 00 00 02 02 11 15", "95 00 90 00"),
        ],
        "80 41 00 00 02 02 11",
        Resend::Allowed,
    );
    assert_eq!(result.unwrap().data(), &[0x95, 0x00]);
    assert_eq!(sent.len(), 2);
    // get challenge `80 4B 08 00 00` is case 2: Le is replaced.
    let (result, sent) = run_with(
        vec![
            Exchange::ok("80 4B 08 00 00", "6C 08"),
            Exchange::ok("80 4B 08 00 08", "01 02 03 04 05 06 07 08 90 00"),
        ],
        "80 4B 08 00 00",
        Resend::Allowed,
    );
    assert_eq!(result.unwrap().data(), &[1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(sent.len(), 2);
    // and both follow `61 XX` as well
    let (result, _) = run_with(
        vec![
            Exchange::ok("80 4B 08 00 00", "61 08"),
            Exchange::ok("00 C0 00 00 08", "01 02 03 04 05 06 07 08 90 00"),
        ],
        "80 4B 08 00 00",
        Resend::Allowed,
    );
    assert_eq!(result.unwrap().data().len(), 8);
}

#[test]
fn the_header_of_a_short_command_is_what_there_is() {
    let (result, sent) = run_with(
        vec![Exchange::ok("84 D4 00 00", "6C 00")],
        "84 D4 00 00",
        Resend::Never {
            command: "write config",
        },
    );
    assert_eq!(sent.len(), 1);
    assert!(matches!(
        result,
        Err(TransportError::NotResent { ref header, le: 0, .. }) if header == "84 D4 00 00"
    ));
}
