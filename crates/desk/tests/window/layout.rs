//! Layout at 100 % and 200 %, and the reader list following plugging and unplugging.

use std::sync::Arc;

use egui_kittest::kittest::{By, NodeT as _, Queryable};
use safeid_desk::SimBench;

use crate::common::*;

/// At both scales every control fits the window's width (a 1280x800 screen) and the
/// steps can be scrolled to.
#[test]
fn layout_fits_at_100_and_200_percent() {
    for scale in [1.0f32, 2.0] {
        let bench = Arc::new(SimBench::new(SERIAL));
        let (w, hgt) = (1280.0 / scale, 800.0 / scale);
        let mut h = window(&bench, w, hgt, scale);
        click(&mut h, "Connect");
        for label in [
            "Scan screen",
            "Connect",
            "Burn…",
            "Export seed data",
            "Sync token clock",
        ] {
            let node = h.get_by_label(label);
            node.scroll_to_me();
            // The scroll is animated.
            for _ in 0..8 {
                h.step();
            }
            let r = h.get_by_label(label).rect();
            assert!(
                r.min.x >= 0.0 && r.max.x <= w + 0.5 && r.min.y >= 0.0 && r.max.y <= hgt + 0.5,
                "{label} at {r:?} outside {w}x{hgt} at scale {scale}"
            );
        }
        for n in h.query_all(By::new()) {
            if let Some(b) = n.accesskit_node().bounding_box() {
                let right = b.x1 as f32 / scale;
                assert!(
                    right <= w + 0.5,
                    "a node reaches x={right} at scale {scale}: {:?}",
                    n.accesskit_node().label()
                );
            }
        }
    }
}

#[test]
fn reader_list_follows_plugging() {
    let bench = Arc::new(SimBench::new(SERIAL));
    let mut h = tall(&bench);
    click(&mut h, "Batch");
    bench.plug("Second reader");
    wait_for(&mut h, "Second reader");
    bench.unplug("Second reader");
    let start = std::time::Instant::now();
    while h.query_by_label("Second reader").is_some() {
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
}
