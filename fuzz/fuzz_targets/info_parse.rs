#![no_main]
//! Outside bytes into safeid-proto's reply parsers: the get-info and get-challenge
//! replies and status words (docs/protocol.md section 3). None may panic, and a get-info
//! reply that parses must be one of the two short-form encodings of what was parsed (or
//! longer, when it used ISO 7816 long-form lengths). Model table files (section 6) have a
//! target of their own, `model_table_parse`.

use safeid_proto::{parse_challenge, parse_info, parse_status};

fn encode(serial: &[u8], time: u32, clock_first: bool) -> Option<Vec<u8>> {
    let mut serial_tlv = vec![0x02, u8::try_from(serial.len()).ok()?];
    serial_tlv.extend_from_slice(serial);
    let mut clock_tlv = vec![0x11, 0x04];
    clock_tlv.extend_from_slice(&time.to_be_bytes());
    let inner = if clock_first {
        [clock_tlv, serial_tlv].concat()
    } else {
        [serial_tlv, clock_tlv].concat()
    };
    let len = u8::try_from(inner.len()).ok().filter(|&l| l < 0xFF)?;
    Some([&[0x95, len][..], &inner, &[0x90, 0x00]].concat())
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(info) = parse_info(data) {
        let serial = info.serial.as_bytes();
        assert!(!serial.is_empty() && serial.iter().all(u8::is_ascii_graphic));
        if let (Some(a), Some(b)) = (
            encode(serial, info.unix_time, false),
            encode(serial, info.unix_time, true),
        ) {
            assert!(data == a.as_slice() || data == b.as_slice() || data.len() > a.len());
        }
    }
    let _ = parse_challenge(data);
    let _ = parse_status("write seed", data);
});
