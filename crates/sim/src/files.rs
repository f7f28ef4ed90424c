//! Real files for generated attachments, written by hand: a PDF whose text a PDF reader
//! extracts, PNG (stored deflate) and baseline JPEG (DC-only, grey) images that decode, a DOCX
//! (a zip holding `word/document.xml`, through the `zip` crate), CSV and plain text.

use std::io::Write as _;

/// CRC-32 (IEEE), as PNG chunks need.
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xedb8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// A one-page PDF 1.4 showing `lines` in Helvetica (ASCII; other characters become `?`).
pub fn pdf(lines: &[String]) -> Vec<u8> {
    let mut content = String::from("BT\n/F1 12 Tf\n14 TL\n72 740 Td\n");
    for l in lines {
        let mut s = String::new();
        for c in l.chars() {
            match c {
                '(' | ')' | '\\' => {
                    s.push('\\');
                    s.push(c);
                }
                ' '..='~' => s.push(c),
                _ => s.push('?'),
            }
        }
        content.push_str(&format!("({s}) Tj T*\n"));
    }
    content.push_str("ET\n");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>".to_string(),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}endstream", content.len()),
    ];
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// An RGB PNG of `w`×`h` pixels from `px(x, y)`, with stored (uncompressed) deflate blocks.
pub fn png(w: u32, h: u32, px: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    let mut raw = Vec::with_capacity(((w * 3 + 1) * h) as usize);
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            raw.extend_from_slice(&px(x, y));
        }
    }
    let mut z = vec![0x78, 0x01];
    let mut chunks = raw.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        z.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(c) = chunks.next() {
        z.push(u8::from(chunks.peek().is_none()));
        let len = c.len() as u16;
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(c);
    }
    z.extend_from_slice(&adler32(&raw).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8; 4], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut c = kind.to_vec();
        c.extend_from_slice(data);
        out.extend_from_slice(&c);
        out.extend_from_slice(&crc32(&c).to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter set, no interlace
    chunk(b"IHDR", &ihdr);
    chunk(b"tEXt", b"Software\0kbridge sim");
    chunk(b"IDAT", &z);
    chunk(b"IEND", &[]);
    out
}

/// Bits written MSB first, with JPEG's 0xFF byte stuffing.
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u32,
}

impl Bits {
    fn put(&mut self, code: u32, len: u32) {
        for i in (0..len).rev() {
            self.acc = (self.acc << 1) | ((code >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                let b = self.acc as u8;
                self.out.push(b);
                if b == 0xff {
                    self.out.push(0);
                }
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        while self.n != 0 {
            self.put(1, 1);
        }
        self.out
    }
}

/// A baseline greyscale JPEG of `bw`×`bh` blocks of 8×8 pixels, block (x, y) of uniform grey
/// `grey(x, y)`: DC coefficients only (every AC is zero), quantisation 1, the standard DC
/// luminance Huffman table and an AC table holding only end-of-block.
pub fn jpeg(bw: u32, bh: u32, grey: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    // Standard DC luminance table (ITU T.81 K.3).
    const DC_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    const DC_VALS: [u8; 12] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
    // Canonical codes of the DC table, by category.
    let mut dc_code = [(0u32, 0u32); 12];
    let mut code = 0u32;
    let mut k = 0;
    for (i, &n) in DC_BITS.iter().enumerate() {
        for _ in 0..n {
            dc_code[DC_VALS[k] as usize] = (code, i as u32 + 1);
            code += 1;
            k += 1;
        }
        code <<= 1;
    }
    let (w, h) = (bw.max(1) * 8, bh.max(1) * 8);
    let mut out = vec![0xff, 0xd8];
    let mut seg = |marker: u8, data: &[u8]| {
        out.extend_from_slice(&[0xff, marker]);
        out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(data);
    };
    seg(0xe0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[1u8; 64]);
    seg(0xdb, &dqt);
    let mut sof = vec![8];
    sof.extend_from_slice(&(h as u16).to_be_bytes());
    sof.extend_from_slice(&(w as u16).to_be_bytes());
    sof.extend_from_slice(&[1, 1, 0x11, 0]);
    seg(0xc0, &sof);
    let mut dht = vec![0x00];
    dht.extend_from_slice(&DC_BITS);
    dht.extend_from_slice(&DC_VALS);
    dht.push(0x10);
    let mut ac_bits = [0u8; 16];
    ac_bits[0] = 1;
    dht.extend_from_slice(&ac_bits);
    dht.push(0x00); // EOB, code "0"
    seg(0xc4, &dht);
    seg(0xda, &[1, 1, 0x00, 0, 63, 0]);
    let mut bits = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    let mut prev = 0i32;
    for y in 0..bh.max(1) {
        for x in 0..bw.max(1) {
            let dc = 8 * (grey(x, y) as i32 - 128);
            let diff = dc - prev;
            prev = dc;
            let cat = 32 - diff.unsigned_abs().leading_zeros();
            let (c, l) = dc_code[cat as usize];
            bits.put(c, l);
            if cat > 0 {
                let v = if diff < 0 {
                    diff + (1 << cat) - 1
                } else {
                    diff
                };
                bits.put(v as u32, cat);
            }
            bits.put(0, 1); // EOB
        }
    }
    out.extend_from_slice(&bits.finish());
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

/// A minimal DOCX (Office Open XML) whose body holds `paragraphs`; `None` if the zip cannot be
/// written (it always can in memory).
pub fn docx(paragraphs: &[String]) -> Option<Vec<u8>> {
    let esc = crate::storage::esc;
    let mut body = String::new();
    for p in paragraphs {
        body.push_str(&format!(
            "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
            esc(p)
        ));
    }
    let document = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body>{body}<w:sectPr/></w:body></w:document>"
    );
    let types = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/><Default Extension=\"xml\" ContentType=\"application/xml\"/><Override PartName=\"/word/document.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml\"/></Types>";
    let rels = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"word/document.xml\"/></Relationships>";
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in [
        ("[Content_Types].xml", types),
        ("_rels/.rels", rels),
        ("word/document.xml", document.as_str()),
    ] {
        z.start_file(name, opts).ok()?;
        z.write_all(data.as_bytes()).ok()?;
    }
    z.finish().ok().map(|c| c.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11e6_0398);
    }

    #[test]
    fn pdf_offsets_point_at_their_objects() {
        let p = pdf(&["Hello (world)".into()]);
        let s = String::from_utf8_lossy(&p);
        let xref: usize = s
            .rsplit("startxref\n")
            .next()
            .and_then(|t| t.lines().next())
            .and_then(|n| n.parse().ok())
            .unwrap();
        assert_eq!(&p[xref..xref + 4], b"xref");
        assert!(s.contains("(Hello \\(world\\)) Tj"));
    }
}
