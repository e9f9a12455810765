//! Measures what makes share links short: for each preset, the scenario's JSON with every
//! field written out, the same with defaults stripped (what links carry), deflated at two
//! levels, and the final link. With a directory argument, also writes each stripped JSON
//! there so other compressors can be compared on exactly the same bytes.
//!
//! ```text
//! cargo run --release -p lbsim --example link_sizes [-- <dir>]
//! ```

use base64::Engine;
use lbsim::presets;
use lbsim::scenario::link;

fn main() {
    let dir = std::env::args().nth(1).map(std::path::PathBuf::from);
    let b64 = |n: usize| n.div_ceil(3) * 4 - (3 - n % 3) % 3;
    println!(
        "{:<20} {:>6} {:>8} {:>10} {:>10} {:>9} {:>6}",
        "preset", "full", "stripped", "deflate-6", "deflate-10", "base64url", "link"
    );
    for p in presets::all() {
        let full = serde_json::to_string(&p.scenario).expect("serialises");
        let stripped = serde_json::to_string(&link::compact(&p.scenario)).expect("serialises");
        let d6 = miniz_oxide::deflate::compress_to_vec(stripped.as_bytes(), 6).len();
        let d10 = miniz_oxide::deflate::compress_to_vec(stripped.as_bytes(), 10).len();
        let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
            miniz_oxide::deflate::compress_to_vec(stripped.as_bytes(), 10),
        );
        assert_eq!(encoded.len(), b64(d10));
        println!(
            "{:<20} {:>6} {:>8} {:>10} {:>10} {:>9} {:>6}",
            p.name,
            full.len(),
            stripped.len(),
            d6,
            d10,
            encoded.len(),
            p.link().len()
        );
        if let Some(dir) = &dir {
            std::fs::create_dir_all(dir).expect("output directory");
            std::fs::write(dir.join(format!("{}.json", p.name)), &stripped).expect("write");
        }
    }
}
