//! todo
use super::{DataError, Graph};
pub struct SbmSpec;
impl SbmSpec {
    pub fn parse(_s: &str) -> Result<SbmSpec, String> {
        Err("todo".into())
    }
}
pub fn generate(_s: &SbmSpec) -> Result<Graph, DataError> {
    todo!()
}
