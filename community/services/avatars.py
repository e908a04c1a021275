"""Identicons: a symmetric 5x5 pattern drawn from a hash of the user's avatar seed. No network."""

import hashlib


def identicon_svg(seed: str, size: int = 80) -> str:
    digest = hashlib.sha256(seed.encode()).digest()
    hue = int.from_bytes(digest[:2], "big") % 360
    fg, bg = f"hsl({hue}, 55%, 48%)", f"hsl({hue}, 40%, 94%)"
    cell = size // 5
    rects = []
    for row in range(5):
        for col in range(3):
            if digest[2 + row * 3 + col] % 2 == 0:
                for c in {col, 4 - col}:
                    rects.append(f'<rect x="{c * cell}" y="{row * cell}" width="{cell}" height="{cell}"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 {cell * 5} {cell * 5}" role="img" aria-label="avatar">'
        f'<rect width="100%" height="100%" fill="{bg}"/><g fill="{fg}">{"".join(rects)}</g></svg>'
    )
