//! How an archived body is stored: zstd-compressed bytes (`BYTEA` / `BLOB` in
//! `paddock_raw_responses.body_zstd`, the same bytes after a directory file's header line).

use anyhow::Context as _;

/// zstd level: fast, and API JSON compresses about tenfold at it.
const ZSTD_LEVEL: i32 = 3;

/// Compresses a body.
pub fn compress(body: &[u8]) -> anyhow::Result<Vec<u8>> {
    zstd::bulk::compress(body, ZSTD_LEVEL).context("compressing a response body")
}

/// Decompresses a body compressed by [`compress`]; `size` is its original length.
pub fn decompress(data: &[u8], size: usize) -> anyhow::Result<Vec<u8>> {
    zstd::bulk::decompress(data, size.max(1)).context("decompressing an archived body")
}

/// A body compressed, as stored.
pub fn encode_body(body: &str) -> anyhow::Result<Vec<u8>> {
    compress(body.as_bytes())
}

/// The body back from [`encode_body`]'s bytes.
pub fn decode_body(stored: &[u8], size: usize) -> anyhow::Result<String> {
    let bytes = decompress(stored, size)?;
    String::from_utf8(bytes).context("an archived body is not UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_comes_back_from_the_archive_unchanged_and_smaller() {
        let body = r#"{"results":[],"total":0}"#.repeat(200);
        let stored = encode_body(&body).unwrap();
        assert!(stored.len() < body.len() / 4);
        assert_eq!(decode_body(&stored, body.len()).unwrap(), body);
    }
}
