//! todo
use super::{DataError, Graph};
pub fn read(
    _p: &std::path::Path,
    _f: Option<&std::path::Path>,
    _l: Option<&std::path::Path>,
) -> Result<Graph, DataError> {
    todo!()
}
