import sharp from 'sharp';

/**
 * Rasterise an SVG plot to PNG (for papers and slides) with sharp's SVG renderer. `scale` multiplies the SVG's
 * own size (2: 192 dpi for a 96-dpi SVG).
 */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .flatten({ background: '#ffffff' })
    .png()
    .toBuffer();
}
