//! Property tests of the framing, the MAC and the reply parsers (docs/protocol.md section 3).
#![allow(clippy::unwrap_used)]

use cipher::generic_array::GenericArray;
use cipher::{BlockDecrypt, KeyInit};
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use safeid_proto::*;
use safeid_secret::SecretBytes;

/// Decrypts SM4-ECB directly with the `sm4` crate (the test's own wiring).
fn sm4_ecb_decrypt(key: &[u8; 16], data: &mut [u8]) {
    let sm4 = sm4::Sm4::new(GenericArray::from_slice(key));
    for block in data.chunks_exact_mut(16) {
        sm4.decrypt_block(GenericArray::from_mut_slice(block));
    }
}

/// The token's rule: strip the last `80` that is followed only by zeros.
fn strip_padding(frame: &[u8]) -> Option<&[u8]> {
    let end = frame.iter().rposition(|&b| b != 0)?;
    (frame[end] == 0x80).then(|| &frame[..end])
}

fn zero_extended(seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    if v.len() < 20 {
        v.resize(20, 0);
    }
    v
}

fn hmac_sha1(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(key).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn hmac_sha256(key: &[u8], msg: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
    mac.update(msg);
    mac.finalize().into_bytes().to_vec()
}

fn config_strategy() -> impl Strategy<Value = TokenConfig> {
    (0usize..4, any::<u32>(), any::<bool>(), any::<bool>()).prop_map(|(t, time, sha1, s30)| {
        TokenConfig {
            display_timeout: [
                DisplayTimeout::S15,
                DisplayTimeout::S30,
                DisplayTimeout::S60,
                DisplayTimeout::S120,
            ][t],
            unix_time: time,
            hmac: if sha1 {
                HmacAlgorithm::Sha1
            } else {
                HmacAlgorithm::Sha256
            },
            step: if s30 { TimeStep::S30 } else { TimeStep::S60 },
        }
    })
}

/// Builds a get-info reply by hand: `95 LL` around the two TLVs in the chosen order.
fn info_reply(serial: &[u8], time: u32, clock_first: bool) -> Vec<u8> {
    let mut serial_tlv = vec![0x02, u8::try_from(serial.len()).unwrap()];
    serial_tlv.extend_from_slice(serial);
    let mut clock_tlv = vec![0x11, 0x04];
    clock_tlv.extend_from_slice(&time.to_be_bytes());
    let inner = if clock_first {
        [clock_tlv, serial_tlv].concat()
    } else {
        [serial_tlv, clock_tlv].concat()
    };
    let mut reply = vec![0x95, u8::try_from(inner.len()).unwrap()];
    reply.extend_from_slice(&inner);
    reply.extend_from_slice(&[0x90, 0x00]);
    reply
}

#[test]
fn every_seed_length_frames_and_decrypts_back() {
    // Exhaustive over the lengths (the proptest below varies the contents).
    let key = [0x5Au8; 16];
    for len in 1..=63usize {
        let raw: Vec<u8> = (0..len)
            .map(|i| u8::try_from(i % 251).unwrap() ^ 0xC3)
            .collect();
        check_seed_round_trip(key, &raw).unwrap();
    }
}

fn check_seed_round_trip(key: [u8; 16], raw: &[u8]) -> Result<(), TestCaseError> {
    let access = AccessKey::from_bytes(key);
    let seed = Seed::new(SecretBytes::from(raw.to_vec())).unwrap();
    let apdu = write_seed(&access, &seed).unwrap().as_bytes().to_vec();
    prop_assert_eq!(&apdu[..4], &[0x84, 0xC5, 0x01, 0x00]);
    let lc = usize::from(apdu[4]);
    prop_assert_eq!(lc, apdu.len() - 5);
    let mut body = apdu[5..apdu.len() - 4].to_vec();
    prop_assert_eq!(body.len() % 16, 0);
    // Padding is always present: at least one byte more than the (extended) seed.
    prop_assert!(body.len() > raw.len().max(20));
    prop_assert!(body.len() <= raw.len().max(20) + 16);
    sm4_ecb_decrypt(&key, &mut body);
    prop_assert_eq!(strip_padding(&body), Some(&zero_extended(raw)[..]));
    prop_assert!(crypto::verify_mac(&access, &apdu));
    Ok(())
}

proptest! {
    #[test]
    fn seed_framing_round_trip(key in any::<[u8; 16]>(), raw in prop::collection::vec(any::<u8>(), 1..=63)) {
        check_seed_round_trip(key, &raw)?;
    }

    #[test]
    fn seeds_outside_1_to_63_are_refused(len in prop_oneof![Just(0usize), 64usize..300]) {
        let refused = matches!(Seed::new(SecretBytes::from(vec![7; len])), Err(ProtoError::SeedLength { len: l }) if l == len);
        prop_assert!(refused);
    }

    #[test]
    fn zero_extension_keeps_hmac(seed in prop::collection::vec(any::<u8>(), 1..20), msg in prop::collection::vec(any::<u8>(), 0..100)) {
        let extended = zero_extended(&seed);
        prop_assert_eq!(hmac_sha1(&seed, &msg), hmac_sha1(&extended, &msg));
        prop_assert_eq!(hmac_sha256(&seed, &msg), hmac_sha256(&extended, &msg));
    }

    #[test]
    fn every_flipped_bit_breaks_the_mac(key in any::<[u8; 16]>(), config in config_strategy(), raw in prop::collection::vec(any::<u8>(), 1..=63), use_seed in any::<bool>()) {
        let access = AccessKey::from_bytes(key);
        let apdu = if use_seed {
            write_seed(&access, &Seed::new(SecretBytes::from(raw)).unwrap()).unwrap().as_bytes().to_vec()
        } else {
            write_config(&access, &config).unwrap().as_bytes().to_vec()
        };
        prop_assert!(crypto::verify_mac(&access, &apdu));
        for bit in 0..apdu.len() * 8 {
            let mut flipped = apdu.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(!crypto::verify_mac(&access, &flipped), "bit {} still verifies", bit);
        }
        // Another key does not verify either.
        let mut other = key;
        other[0] ^= 1;
        prop_assert!(!crypto::verify_mac(&AccessKey::from_bytes(other), &apdu));
    }

    #[test]
    fn config_body_is_the_section_3_layout(config in config_strategy()) {
        let cmd = write_config(&AccessKey::token2(), &config).unwrap();
        let bytes = cmd.as_bytes();
        prop_assert_eq!(&bytes[..7], &[0x84, 0xD4, 0x00, 0x00, 0x17, 0x81, 0x11]);
        prop_assert_eq!(&bytes[7..9], &[0x1F, 0x01]);
        prop_assert_eq!(u32::from(bytes[9]), [15, 30, 60, 120].iter().position(|&s| s == config.display_timeout.seconds()).unwrap() as u32);
        prop_assert_eq!(&bytes[10..12], &[0x0F, 0x04]);
        prop_assert_eq!(u32::from_be_bytes(bytes[12..16].try_into().unwrap()), config.unix_time);
        prop_assert_eq!(&bytes[16..20], &[0x86, 0x06, 0x0A, 0x01]);
        prop_assert_eq!(bytes[20], if config.hmac == HmacAlgorithm::Sha1 { 1 } else { 2 });
        prop_assert_eq!(&bytes[21..23], &[0x0D, 0x01]);
        prop_assert_eq!(u32::from(bytes[23]), config.step.seconds());
        prop_assert_eq!(bytes.len(), 28);
    }

    #[test]
    fn parse_info_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_info(&bytes);
        let _ = parse_challenge(&bytes);
        let _ = parse_status("write seed", &bytes);
    }

    #[test]
    fn parse_info_never_panics_on_near_valid_replies(serial in "[!-~]{1,100}", time in any::<u32>(), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let reply = info_reply(serial.as_bytes(), time, false);
        let _ = parse_info(&reply[..cut.index(reply.len())]);
        let mut changed = reply.clone();
        changed[flip.index(reply.len())] = byte;
        let _ = parse_info(&changed);
    }

    #[test]
    fn info_round_trip(serial in "[!-~]{1,100}", time in any::<u32>(), clock_first in any::<bool>()) {
        let info = parse_info(&info_reply(serial.as_bytes(), time, clock_first)).unwrap();
        prop_assert_eq!(info, Info { serial, unix_time: time });
    }

    #[test]
    fn challenge_round_trip(bytes in any::<[u8; 8]>()) {
        let mut reply = bytes.to_vec();
        reply.extend_from_slice(&[0x90, 0x00]);
        prop_assert_eq!(parse_challenge(&reply).unwrap(), Challenge(bytes));
    }

    #[test]
    fn authenticate_encrypts_challenge_and_zeros(key in any::<[u8; 16]>(), challenge in any::<[u8; 8]>()) {
        let cmd = authenticate(&AccessKey::from_bytes(key), &Challenge(challenge)).unwrap();
        let bytes = cmd.as_bytes();
        prop_assert_eq!(&bytes[..5], &[0x80, 0xCE, 0x00, 0x00, 0x10]);
        let mut block = bytes[5..].to_vec();
        prop_assert_eq!(block.len(), 16);
        sm4_ecb_decrypt(&key, &mut block);
        prop_assert_eq!(&block[..8], &challenge);
        prop_assert_eq!(&block[8..], &[0u8; 8]);
    }

    #[test]
    fn status_words_other_than_9000_are_errors(code in any::<u16>()) {
        let reply = code.to_be_bytes();
        let result = parse_status("write config", &reply);
        if code == 0x9000 {
            prop_assert!(result.is_ok());
        } else {
            let is_status = matches!(result, Err(ProtoError::Status { sw, .. }) if sw.code() == code);
            prop_assert!(is_status);
        }
    }

    #[test]
    fn hex_keys_parse_in_any_case_with_spaces(key in any::<[u8; 16]>(), lower in any::<bool>(), spaced in any::<bool>()) {
        let mut text = if lower { data_encoding::HEXLOWER.encode(&key) } else { data_encoding::HEXUPPER.encode(&key) };
        if spaced {
            text = text.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ");
        }
        prop_assert_eq!(AccessKey::from_hex(&text).unwrap(), AccessKey::from_bytes(key));
    }
}

#[test]
fn status_word_round_trips_for_every_u16() {
    for code in 0..=u16::MAX {
        let sw = StatusWord::from(code);
        assert_eq!(sw.code(), code);
        assert_eq!(u16::from(sw), code);
        assert!(!sw.meaning().is_empty());
    }
}
