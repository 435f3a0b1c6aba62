//! Every shader parses and validates with naga, and every file in shaders/ is registered
//! in `argva::kernels::SHADERS` (so none can ship untested). No GPU needed.

#[test]
fn every_shader_validates_with_naga() {
    for (name, source) in argva::kernels::SHADERS {
        let module = naga::front::wgsl::parse_str(source)
            .unwrap_or_else(|e| panic!("{name}: {}", e.emit_to_string(source)));
        let mut validator = naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::default(),
        );
        if let Err(e) = validator.validate(&module) {
            panic!("{name}: {}", e.emit_to_string(source));
        }
    }
}

#[test]
fn every_shader_file_is_registered() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let registered: Vec<&str> = argva::kernels::SHADERS.iter().map(|(n, _)| *n).collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".wgsl") {
            assert!(
                registered.contains(&name.as_str()),
                "{name} is not in kernels::SHADERS"
            );
        }
    }
}
