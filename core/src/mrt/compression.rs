//! Opening MRT files that may be gzip- or bzip2-compressed (feature
//! `compression`). Collectors publish `.gz` (RIPE RIS) and `.bz2`
//! (RouteViews); both may be multi-member, so the multi-stream decoders
//! are used.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

/// Buffer size for file and decoder reads (bytes).
const BUF_LEN: usize = 128 * 1024;

/// Opens `path` for reading MRT records: gzip when the file starts with
/// `1f 8b` or ends in `.gz`, bzip2 when it starts with `BZh` or ends in
/// `.bz2`, plain otherwise. The magic bytes win over the extension. The
/// result is buffered.
///
/// # Errors
/// Any error from opening or reading the first bytes of the file.
pub fn open_file(path: impl AsRef<Path>) -> io::Result<Box<dyn Read + Send>> {
    let path = path.as_ref();
    let mut file = BufReader::with_capacity(BUF_LEN, File::open(path)?);
    let head = file.fill_buf()?;
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    let gzip = head.starts_with(&[0x1f, 0x8b]);
    let bzip = head.starts_with(b"BZh");
    let kind = match (gzip, bzip) {
        (true, _) => Kind::Gzip,
        (_, true) => Kind::Bzip2,
        _ if head.len() >= 3 => Kind::Plain,
        _ if ext == "gz" => Kind::Gzip,
        _ if ext == "bz2" => Kind::Bzip2,
        _ => Kind::Plain,
    };
    Ok(match kind {
        Kind::Gzip => Box::new(BufReader::with_capacity(
            BUF_LEN,
            flate2::bufread::MultiGzDecoder::new(file),
        )),
        Kind::Bzip2 => Box::new(BufReader::with_capacity(
            BUF_LEN,
            bzip2::bufread::MultiBzDecoder::new(file),
        )),
        Kind::Plain => Box::new(file),
    })
}

enum Kind {
    Plain,
    Gzip,
    Bzip2,
}
