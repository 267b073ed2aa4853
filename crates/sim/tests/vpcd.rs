//! The vpcd bridge against an in-test listener that plays vpcd's part (loopback only):
//! framing of docs/testing.md "vpcd wire protocol", removal, reconnection, deadlines.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use safeid_sim::VirtualToken;
use safeid_sim::vpcd::{ATR, ServeOptions, VpcdError, serve};

const WAIT: Duration = Duration::from_secs(10);

fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    l.set_nonblocking(true).unwrap();
    (l, addr)
}

fn accept(l: &TcpListener) -> TcpStream {
    let deadline = Instant::now() + WAIT;
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(WAIT)).unwrap();
                return s;
            }
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => panic!("the virtual token did not connect: {e}"),
        }
    }
}

fn send(s: &mut TcpStream, payload: &[u8]) {
    let mut frame = (payload.len() as u16).to_be_bytes().to_vec();
    frame.extend_from_slice(payload);
    s.write_all(&frame).unwrap();
}

fn recv(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).unwrap();
    let mut payload = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut payload).unwrap();
    payload
}

fn exchange(s: &mut TcpStream, apdu: &[u8]) -> Vec<u8> {
    send(s, apdu);
    recv(s)
}

/// The peer closed: a read returns 0 bytes (or fails).
fn closed(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(s.read(&mut b), Ok(0) | Err(_))
}

fn shared_token() -> Arc<Mutex<VirtualToken>> {
    Arc::new(Mutex::new(p1().0))
}

#[test]
fn power_atr_apdu_and_reset_framing() {
    let (l, addr) = listener();
    let token = shared_token();
    let handle = serve(addr, Arc::clone(&token), ServeOptions::default()).unwrap();
    let mut s = accept(&l);
    assert!(handle.wait_connected(WAIT));
    send(&mut s, &[0x01]); // power on: no reply
    assert_eq!(exchange(&mut s, &[0x04]), ATR);
    assert_eq!(ATR, [0x3B, 0x80, 0x80, 0x01, 0x01]);

    // One APDU, one frame, written at once: a single read gets all of it.
    send(&mut s, &GET_INFO);
    let mut buf = [0u8; 300];
    let n = s.read(&mut buf).unwrap();
    assert_eq!(
        upper_hex(&buf[..n]),
        "0019".to_owned() + "9515020D3836353936313230303030303111046553F1009000"
    );

    let host = Host::token2();
    let c = exchange(&mut s, &GET_CHALLENGE);
    assert_eq!(sw(&c), 0x9000);
    assert_eq!(exchange(&mut s, &host.auth_apdu(data(&c))), [0x90, 0x00]);
    assert!(handle.state().authenticated);
    send(&mut s, &[0x02]); // reset: no reply; the ATR exchange after it synchronises
    assert_eq!(exchange(&mut s, &[0x04]), ATR);
    assert!(!handle.state().authenticated, "reset drops authentication");

    let c = exchange(&mut s, &GET_CHALLENGE);
    assert_eq!(exchange(&mut s, &host.auth_apdu(data(&c))), [0x90, 0x00]);
    send(&mut s, &[0x00]); // power off
    send(&mut s, &[0x07]); // unknown control byte: ignored
    assert_eq!(exchange(&mut s, &[0x04]), ATR);
    assert!(
        !handle.state().authenticated,
        "power off drops authentication"
    );
    // A 2-byte APDU is too short for the token, not a control frame.
    assert_eq!(exchange(&mut s, &[0x80, 0x41]), [0x67, 0x00]);

    handle.stop().unwrap();
    assert!(closed(&mut s));
    assert_eq!(token.lock().unwrap().state().apdu_count, 6);
}

#[test]
fn remove_and_reinsert_the_card() {
    let (l, addr) = listener();
    let handle = serve(addr, shared_token(), ServeOptions::default()).unwrap();
    let mut s = accept(&l);
    let host = Host::token2();
    let c = exchange(&mut s, &GET_CHALLENGE);
    assert_eq!(exchange(&mut s, &host.auth_apdu(data(&c))), [0x90, 0x00]);
    handle.remove_card();
    assert!(closed(&mut s), "removal closes the socket");
    assert!(!handle.state().authenticated);
    let deadline = Instant::now() + WAIT;
    while handle.is_connected() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(!handle.is_connected());
    // Stays out until inserted.
    std::thread::sleep(Duration::from_millis(100));
    assert!(l.accept().is_err());
    handle.insert_card();
    let mut s = accept(&l);
    assert_eq!(exchange(&mut s, &[0x04]), ATR);
    assert_eq!(handle.control().connections(), 2);
    drop(handle);
    assert!(closed(&mut s), "dropping the handle stops the bridge");
}

#[test]
fn reconnects_when_vpcd_closes_the_socket() {
    let (l, addr) = listener();
    let handle = serve(addr, shared_token(), ServeOptions::default()).unwrap();
    let mut s = accept(&l);
    let host = Host::token2();
    let c = exchange(&mut s, &GET_CHALLENGE);
    assert_eq!(exchange(&mut s, &host.auth_apdu(data(&c))), [0x90, 0x00]);
    drop(s);
    let mut s = accept(&l);
    assert_eq!(exchange(&mut s, &[0x04]), ATR);
    assert!(
        !handle.state().authenticated,
        "a lost connection is a removal"
    );
    handle.stop().unwrap();
}

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[test]
fn waits_for_vpcd_to_come_up() {
    let addr = free_port();
    let handle = serve(addr, shared_token(), ServeOptions::default()).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(!handle.is_connected());
    let l = TcpListener::bind(addr).unwrap();
    l.set_nonblocking(true).unwrap();
    let mut s = accept(&l);
    assert_eq!(exchange(&mut s, &[0x04]), ATR);
    handle.stop().unwrap();
}

#[test]
fn gives_up_at_the_connect_deadline() {
    let addr = free_port();
    let options = ServeOptions {
        connect_deadline: Some(Duration::from_millis(300)),
        ..ServeOptions::default()
    };
    let start = Instant::now();
    let handle = serve(addr, shared_token(), options).unwrap();
    let err = handle.wait().unwrap_err();
    assert!(matches!(err, VpcdError::ConnectTimeout { addr: a, .. } if a == addr));
    assert!(err.to_string().contains("vpcd"));
    assert!(start.elapsed() >= Duration::from_millis(300));
    assert!(start.elapsed() < WAIT);
}

#[test]
fn stop_while_waiting_to_connect() {
    let handle = serve(
        free_port(),
        shared_token(),
        ServeOptions {
            connect_deadline: None,
            ..ServeOptions::default()
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert!(!handle.is_finished());
    let start = Instant::now();
    handle.stop().unwrap();
    assert!(start.elapsed() < Duration::from_secs(2));
}
