//! SimTransport: the virtual token behind `safeid_transport::Transport`, and each
//! injected fault (docs/testing.md, "Failure behaviour").
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use safeid_sim::{Faults, GARBAGE_REPLY, SimTransport, TokenSpec, VirtualToken};
use safeid_transport::{Transport, TransportError};

fn shared() -> Arc<Mutex<VirtualToken>> {
    Arc::new(Mutex::new(p1().0))
}

/// get challenge + authenticate through the transport.
fn auth_over(tr: &mut SimTransport) -> Result<u16, TransportError> {
    let host = Host::token2();
    let mut tx = tr.begin()?;
    let r = tx.transmit_raw(&GET_CHALLENGE)?;
    Ok(sw(&tx.transmit_raw(&host.auth_apdu(data(&r)))?))
}

#[test]
fn plain_transport_reaches_the_token() {
    let token = shared();
    let mut tr = SimTransport::new(Arc::clone(&token));
    assert!(tr.name().contains("8659612000001"));
    {
        let mut tx = tr.begin().unwrap();
        let r = tx.transmit_raw(&GET_INFO).unwrap();
        assert_eq!(sw(&r), 0x9000);
    }
    assert_eq!(auth_over(&mut tr), Ok(0x9000));
    assert!(token.lock().unwrap().state().authenticated);
    tr.reset().unwrap();
    assert!(
        !token.lock().unwrap().state().authenticated,
        "reset drops auth"
    );
    assert_eq!(tr.apdus_sent(), 3);
    // A dyn Transport works too.
    let mut boxed: Box<dyn Transport> = Box::new(tr);
    assert_eq!(
        sw(&boxed.begin().unwrap().transmit_raw(&GET_INFO).unwrap()),
        0x9000
    );
}

#[test]
fn remove_after_never_delivers() {
    let token = shared();
    let faults = Faults {
        remove_after: Some(2),
        ..Faults::default()
    };
    let mut tr = SimTransport::with_faults(Arc::clone(&token), faults);
    assert_eq!(auth_over(&mut tr), Ok(0x9000)); // APDUs 0 and 1
    let host = Host::token2();
    {
        let mut tx = tr.begin().unwrap();
        assert_eq!(
            tx.transmit_raw(&host.seed_apdu(b"seed")),
            Err(TransportError::CardRemoved)
        );
        assert_eq!(tx.transmit_raw(&GET_INFO), Err(TransportError::CardRemoved));
    }
    let s = token.lock().unwrap().state();
    assert_eq!(s.apdu_count, 2, "the removed APDUs never reached the token");
    assert_eq!(s.seed_hex, None);
    assert!(!s.authenticated, "the token left the field");
    assert!(tr.begin().is_err());
    assert_eq!(tr.reset(), Err(TransportError::NoCard));
}

#[test]
fn remove_in_flight_processes_but_loses_the_reply() {
    let token = shared();
    let faults = Faults {
        remove_in_flight_after: Some(2),
        ..Faults::default()
    };
    let mut tr = SimTransport::with_faults(Arc::clone(&token), faults);
    assert_eq!(auth_over(&mut tr), Ok(0x9000));
    let host = Host::token2();
    {
        let mut tx = tr.begin().unwrap();
        assert_eq!(
            tx.transmit_raw(&host.seed_apdu(b"12345678901234567890")),
            Err(TransportError::EmptyReply)
        );
        assert_eq!(tx.transmit_raw(&GET_INFO), Err(TransportError::CardRemoved));
    }
    let s = token.lock().unwrap().state();
    assert_eq!(s.apdu_count, 3);
    assert_eq!(
        s.seed_writes, 1,
        "the command ran although its reply was lost"
    );
    assert!(!s.authenticated);
}

#[test]
fn stall_delays_the_reply() {
    let token = shared();
    let faults = Faults {
        stall_at: Some((1, Duration::from_millis(200))),
        ..Faults::default()
    };
    let mut tr = SimTransport::with_faults(token, faults);
    let mut tx = tr.begin().unwrap();
    let start = Instant::now();
    assert_eq!(sw(&tx.transmit_raw(&GET_INFO).unwrap()), 0x9000);
    assert!(start.elapsed() < Duration::from_millis(150));
    let start = Instant::now();
    assert_eq!(sw(&tx.transmit_raw(&GET_INFO).unwrap()), 0x9000);
    assert!(start.elapsed() >= Duration::from_millis(200));
}

#[test]
fn garbage_replaces_the_reply_of_a_processed_command() {
    let token = Arc::new(Mutex::new(token_with(TokenSpec::token2("8659622000001")).0));
    let faults = Faults {
        garbage_at: Some(0),
        ..Faults::default()
    };
    let mut tr = SimTransport::with_faults(Arc::clone(&token), faults);
    let mut tx = tr.begin().unwrap();
    assert_eq!(
        tx.transmit_raw(&GET_CHALLENGE).unwrap(),
        GARBAGE_REPLY.to_vec()
    );
    assert!(token.lock().unwrap().state().has_challenge);
    assert_eq!(sw(&tx.transmit_raw(&GET_INFO).unwrap()), 0x9000);
}
