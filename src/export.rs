//! Result encodings users keep: node pairs as `.npy` (through [`crate::data::npy`], argva's
//! one `.npy` reader and writer) and the embedding as CSV. Pure byte encoders: the front
//! ends write the bytes.

/// Pairs as an E×2 int64 array (the dtype PyTorch edge indices use).
pub fn pairs_npy(pairs: &[[u32; 2]]) -> Vec<u8> {
    let flat: Vec<i64> = pairs
        .iter()
        .flat_map(|p| [p[0] as i64, p[1] as i64])
        .collect();
    crate::data::npy::encode(&[pairs.len(), 2], &flat).expect("shape matches by construction")
}

/// The embedding as CSV: `node,z0,z1,…` with the given node ids (or 0..N).
pub fn embedding_csv(embedding: &[f32], d: usize, ids: Option<&[String]>) -> String {
    let mut s = String::from("node");
    for k in 0..d {
        s.push_str(&format!(",z{k}"));
    }
    s.push('\n');
    for (i, row) in embedding.chunks(d.max(1)).enumerate() {
        match ids {
            Some(ids) => s.push_str(&ids[i]),
            None => s.push_str(&i.to_string()),
        }
        for v in row {
            s.push(',');
            s.push_str(&v.to_string());
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_int64_e_by_2() {
        let back = crate::data::npy::read(&pairs_npy(&[[1, 2], [7, 3]])).unwrap();
        assert_eq!(
            (back.shape, back.data),
            (vec![2, 2], vec![1.0, 2.0, 7.0, 3.0])
        );
        let bytes = pairs_npy(&[[1, 2], [7, 3]]);
        assert!(String::from_utf8_lossy(&bytes[..64]).contains("'<i8'"));
    }

    #[test]
    fn csv_has_header_and_ids() {
        let csv = embedding_csv(&[1.0, 2.5, -1.0, 0.0], 2, Some(&["a".into(), "b".into()]));
        assert_eq!(csv, "node,z0,z1\na,1,2.5\nb,-1,0\n");
    }
}
