//! How an archived body is stored: zstd-compressed, then base64-encoded so that both backends
//! keep it in a plain text column (the table registry has no byte type).

use anyhow::Context as _;

/// zstd level: fast, and API JSON compresses about tenfold at it.
const ZSTD_LEVEL: i32 = 3;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Compresses a body.
pub fn compress(body: &[u8]) -> anyhow::Result<Vec<u8>> {
    zstd::bulk::compress(body, ZSTD_LEVEL).context("compressing a response body")
}

/// Decompresses a body compressed by [`compress`]; `size` is its original length.
pub fn decompress(data: &[u8], size: usize) -> anyhow::Result<Vec<u8>> {
    zstd::bulk::decompress(data, size.max(1)).context("decompressing an archived body")
}

/// Compressed and encoded, as stored in `paddock_raw_responses.body_zstd`.
pub fn encode_body(body: &str) -> anyhow::Result<String> {
    Ok(base64_encode(&compress(body.as_bytes())?))
}

/// The body back from [`encode_body`]'s text.
pub fn decode_body(text: &str, size: usize) -> anyhow::Result<String> {
    let compressed = base64_decode(text)?;
    let bytes = decompress(&compressed, size)?;
    String::from_utf8(bytes).context("an archived body is not UTF-8")
}

/// Standard base64 with padding.
pub fn base64_encode(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes [`base64_encode`]'s output.
pub fn base64_decode(text: &str) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .with_context(|| format!("invalid base64 character {:?}", c as char))?;
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_every_length() {
        for n in 0..20u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
        }
        assert_eq!(base64_encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64_encode(b"fo"), "Zm8=");
    }

    #[test]
    fn a_body_comes_back_from_the_archive_unchanged_and_smaller() {
        let body = r#"{"results":[],"total":0}"#.repeat(200);
        let stored = encode_body(&body).unwrap();
        assert!(stored.len() < body.len() / 4);
        assert_eq!(decode_body(&stored, body.len()).unwrap(), body);
    }
}
