//! The rotation plan loader (`rotate --state FILE`): hostile JSON must be refused, not trusted.
#![no_main]

use certsweep::rotate::state;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path =
        std::env::temp_dir().join(format!("certsweep-fuzz-plan-{}.json", std::process::id()));
    std::fs::write(&path, data).expect("write the input");
    if let Ok(Some(plan)) = state::load(&path) {
        // What loads is valid, and saving it gives a file that loads to the same plan.
        assert!(plan.validate().is_ok());
        let again = std::env::temp_dir().join(format!(
            "certsweep-fuzz-plan-{}-again.json",
            std::process::id()
        ));
        state::save(&again, &plan).expect("a loaded plan saves");
        let reloaded = state::load(&again).expect("reload").expect("present");
        assert_eq!(reloaded, plan);
    }
});
