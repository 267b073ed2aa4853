//! The scripted mock itself: it must fail tests loudly on any deviation.
#![allow(clippy::unwrap_used)]

use safeid_transport::mock::{Exchange, ScriptedTransport};
use safeid_transport::{Transport, TransportError};

fn send(mock: &mut ScriptedTransport, command: &[u8]) -> Result<Vec<u8>, TransportError> {
    let mut tx = mock.begin()?;
    tx.transmit_raw(command)
}

#[test]
fn replays_the_script_and_records_the_transcript() {
    let mut mock = ScriptedTransport::new(vec![
        Exchange::ok([0x80, 0x41, 0x00, 0x00], "90 00"),
        Exchange::ok("80:42:00:00", vec![0x61, 0x02]),
        Exchange::fail("80 43 00 00", TransportError::CardRemoved),
    ])
    .named("test reader");
    assert_eq!(mock.name(), "test reader");
    assert_eq!(
        send(&mut mock, &[0x80, 0x41, 0, 0]).unwrap(),
        vec![0x90, 0x00]
    );
    assert_eq!(
        send(&mut mock, &[0x80, 0x42, 0, 0]).unwrap(),
        vec![0x61, 0x02]
    );
    assert_eq!(mock.remaining(), 1);
    assert_eq!(
        send(&mut mock, &[0x80, 0x43, 0, 0]),
        Err(TransportError::CardRemoved)
    );
    assert_eq!(mock.transaction_count(), 3);
    assert_eq!(
        mock.sent_hex(),
        ["80 41 00 00", "80 42 00 00", "80 43 00 00"]
    );
    assert_eq!(mock.finish().len(), 3);
}

#[test]
fn prefix_and_predicate_matchers() {
    let mut mock = ScriptedTransport::new(vec![
        Exchange::with_prefix("80 42 00 00 04", "90 00"),
        Exchange::matching("a 9-byte command", |c| c.len() == 9, "90 00"),
    ]);
    send(&mut mock, &[0x80, 0x42, 0, 0, 4, 9, 8, 7, 6]).unwrap();
    send(&mut mock, &[1, 2, 3, 4, 5, 6, 7, 8, 9]).unwrap();
    mock.assert_done();
}

#[test]
fn resets_are_counted_or_scripted() {
    let mut mock = ScriptedTransport::new(vec![
        Exchange::reset(),
        Exchange::reset_fails(TransportError::NoCard),
        Exchange::begin_fails(TransportError::ReaderBusy),
    ]);
    mock.reset().unwrap();
    assert_eq!(mock.reset(), Err(TransportError::NoCard));
    assert_eq!(mock.begin().err(), Some(TransportError::ReaderBusy));
    // unscripted resets are only counted in the default mode
    mock.reset().unwrap();
    assert_eq!(mock.reset_count(), 3);
    assert_eq!(mock.transaction_count(), 0);
    mock.finish();
}

#[test]
#[should_panic(expected = "command mismatch at step 2 of 2 (authenticate)")]
fn a_different_command_panics() {
    let mut mock = ScriptedTransport::new(vec![
        Exchange::ok("80 41 00 00", "90 00"),
        Exchange::ok("80 42 00 00 01 AA", "90 00").label("authenticate"),
    ]);
    send(&mut mock, &[0x80, 0x41, 0, 0]).unwrap();
    let _ = send(&mut mock, &[0x80, 0x42, 0, 0, 1, 0xAB]);
}

#[test]
#[should_panic(expected = "first difference at byte 5")]
fn the_report_points_at_the_first_difference() {
    let mut mock = ScriptedTransport::new(vec![Exchange::ok("80 42 00 00 01 AA", "90 00")]);
    let _ = send(&mut mock, &[0x80, 0x42, 0, 0, 1, 0xAB]);
}

#[test]
#[should_panic(expected = "first difference at byte 4")]
fn a_shorter_command_panics() {
    let mut mock = ScriptedTransport::new(vec![Exchange::ok("80 41 00 00 00", "90 00")]);
    let _ = send(&mut mock, &[0x80, 0x41, 0, 0]);
}

#[test]
#[should_panic(expected = "command mismatch at step 1 of 1")]
fn a_prefix_mismatch_panics() {
    let mut mock = ScriptedTransport::new(vec![Exchange::with_prefix("80 42", "90 00")]);
    let _ = send(&mut mock, &[0x80, 0x41, 0, 0]);
}

#[test]
#[should_panic(expected = "<a 9-byte command>")]
fn a_predicate_mismatch_panics() {
    let mut mock = ScriptedTransport::new(vec![Exchange::matching(
        "a 9-byte command",
        |c| c.len() == 9,
        "90 00",
    )]);
    let _ = send(&mut mock, &[0x80, 0x41, 0, 0]);
}

#[test]
#[should_panic(expected = "command after the end of the script")]
fn a_command_after_the_end_panics() {
    let mut mock = ScriptedTransport::new(vec![Exchange::ok("80 41 00 00", "90 00")]);
    send(&mut mock, &[0x80, 0x41, 0, 0]).unwrap();
    let _ = send(&mut mock, &[0x80, 0x41, 0, 0]);
}

#[test]
#[should_panic(expected = "1 step(s) never happened")]
fn an_unfinished_script_panics() {
    let mock = ScriptedTransport::new(vec![Exchange::ok("80 41 00 00", "90 00").label("get info")]);
    mock.finish();
}

#[test]
#[should_panic(expected = "expected reset, but got command")]
fn a_command_instead_of_a_scripted_reset_panics() {
    let mut mock = ScriptedTransport::new(vec![Exchange::reset()]);
    let _ = send(&mut mock, &[0x80, 0x41, 0, 0]);
}

#[test]
#[should_panic(expected = "unscripted reset at step 1 of 1")]
fn strict_mode_rejects_unscripted_resets() {
    let mut mock =
        ScriptedTransport::new(vec![Exchange::ok("80 41 00 00", "90 00")]).strict_resets();
    let _ = mock.reset();
}

#[test]
#[should_panic(expected = "invalid hex")]
fn invalid_hex_in_a_script_panics() {
    let _ = Exchange::ok("80 4G", "90 00");
}
