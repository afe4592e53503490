/* Name cleaning and case folding, with small built-in tables instead of a
 * Unicode library: the scripts that occur in a Russian music catalog (Latin
 * with its accented letters, Cyrillic, Greek) are covered by ranges and a
 * few dozen exceptions, which is both faster and easier to audit than full
 * NFKC + case folding. Everything outside the covered ranges passes through
 * unchanged, so a name in another script still matches itself exactly. */
#include "data/names.h"

#include <string.h>

int32_t mr_utf8_next(const char *str, size_t n, size_t *i)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t p = *i;
    unsigned c = s[p];
    if (c < 0x80) {
        *i = p + 1;
        return (int32_t)c;
    }
    int len = c >= 0xF0 && c < 0xF5 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
    if (c >= 0xF5) len = 0;
    if (!len || p + (size_t)len > n) {
        *i = p + 1;
        return -1;
    }
    uint32_t cp = len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (int k = 1; k < len; k++) {
        unsigned d = s[p + (size_t)k];
        if ((d & 0xC0) != 0x80) {
            *i = p + 1;
            return -1;
        }
        cp = cp << 6 | (d & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp < 0xE000)) {
        *i = p + 1;
        return -1;
    }
    *i = p + (size_t)len;
    return (int32_t)cp;
}

int mr_utf8_put(char *out, uint32_t cp)
{
    unsigned char *o = (unsigned char *)out;
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | cp >> 6);
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | cp >> 12);
        o[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | cp >> 18);
    o[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* White space of any kind becomes one ASCII space. */
static int is_space(int32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F ||
           cp == 0x3000;
}

/* Characters that carry nothing visible: C0/C1 controls, DEL, zero-width
 * and direction marks, the byte-order mark, variation selectors. */
static int is_invisible(int32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) || cp == 0xAD || (cp >= 0x200B && cp <= 0x200F) ||
           (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0xFEFF ||
           (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xFFF0 && cp <= 0xFFFB);
}

size_t mr_name_clean(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;
    int pending_space = 0;
    while (i < n) {
        int32_t cp = mr_utf8_next(s, n, &i);
        if (cp < 0) continue;
        if (is_space(cp)) {
            pending_space = o > 0;
            continue;
        }
        if (is_invisible(cp)) continue;
        if (pending_space) out[o++] = ' ';
        pending_space = 0;
        o += (size_t)mr_utf8_put(out + o, (uint32_t)cp);
    }
    out[o] = 0;
    return o;
}

/* Base letters of U+00C0..U+00FF; '*' = special (two letters or keep). */
static const char latin1[64 + 1] = "aaaaaa*ceeeeiiiidnooooo*ouuuuy**"
                                   "aaaaaa*ceeeeiiiidnooooo*ouuuuy*y";
/* Base letters of U+0100..U+017F; '*' = two letters (ĳ, œ). */
static const char latin_ext_a[128 + 1] = "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiii**jjkkkllllllllll"
                                         "nnnnnnnnnoooooo**rrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

/* Folds one code point into up to 3 code points; returns how many
 * (0: drop it). */
static int fold_cp(int32_t cp, uint32_t *o)
{
    if (cp < 0x80) {
        o[0] = (uint32_t)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        return 1;
    }
    if (cp >= 0xC0 && cp <= 0xFF) {
        char b = latin1[cp - 0xC0];
        if (b != '*') {
            o[0] = (uint32_t)b;
            return 1;
        }
        switch (cp) {
        case 0xC6: case 0xE6: o[0] = 'a', o[1] = 'e'; return 2;
        case 0xDE: case 0xFE: o[0] = 't', o[1] = 'h'; return 2;
        case 0xDF: o[0] = 's', o[1] = 's'; return 2;
        default: o[0] = (uint32_t)cp; return 1; /* × ÷ */
        }
    }
    if (cp >= 0x100 && cp <= 0x17F) {
        char b = latin_ext_a[cp - 0x100];
        if (b != '*') {
            o[0] = (uint32_t)b;
            return 1;
        }
        if (cp == 0x132 || cp == 0x133) o[0] = 'i', o[1] = 'j';
        else o[0] = 'o', o[1] = 'e';
        return 2;
    }
    switch (cp) { /* Latin-1 compatibility and a few signs */
    case 0xAA: o[0] = 'a'; return 1;
    case 0xBA: o[0] = 'o'; return 1;
    case 0xB2: o[0] = '2'; return 1;
    case 0xB3: o[0] = '3'; return 1;
    case 0xB9: o[0] = '1'; return 1;
    case 0xB5: o[0] = 0x3BC; return 1; /* micro sign -> mu */
    case 0xB4: o[0] = '\''; return 1;
    case 0xAB: case 0xBB: o[0] = '"'; return 1;
    }
    if (cp >= 0x180 && cp <= 0x24F) { /* Latin Extended-B: the letters seen in names */
        switch (cp) {
        case 0x1CD: case 0x1CE: case 0x200: case 0x201: case 0x202: case 0x203: o[0] = 'a'; return 1;
        case 0x1CF: case 0x1D0: case 0x208: case 0x209: case 0x20A: case 0x20B: o[0] = 'i'; return 1;
        case 0x1D1: case 0x1D2: case 0x20C: case 0x20D: case 0x20E: case 0x20F: case 0x1A0: case 0x1A1:
            o[0] = 'o'; return 1;
        case 0x1D3: case 0x1D4: case 0x1D5: case 0x1D6: case 0x1D7: case 0x1D8: case 0x1D9: case 0x1DA:
        case 0x1DB: case 0x1DC: case 0x214: case 0x215: case 0x216: case 0x217: case 0x1AF: case 0x1B0:
            o[0] = 'u'; return 1;
        case 0x204: case 0x205: case 0x206: case 0x207: case 0x18F: case 0x259: o[0] = 'e'; return 1;
        case 0x218: case 0x219: o[0] = 's'; return 1;
        case 0x21A: case 0x21B: o[0] = 't'; return 1;
        case 0x210: case 0x211: case 0x212: case 0x213: o[0] = 'r'; return 1;
        case 0x1C4: case 0x1C5: case 0x1C6: o[0] = 'd', o[1] = 'z'; return 2;
        case 0x1C7: case 0x1C8: case 0x1C9: o[0] = 'l', o[1] = 'j'; return 2;
        case 0x1CA: case 0x1CB: case 0x1CC: o[0] = 'n', o[1] = 'j'; return 2;
        case 0x180: case 0x181: o[0] = 'b'; return 1;
        case 0x191: case 0x192: o[0] = 'f'; return 1;
        case 0x197: case 0x268: o[0] = 'i'; return 1;
        case 0x1B5: case 0x1B6: o[0] = 'z'; return 1;
        }
        o[0] = (uint32_t)cp;
        return 1;
    }
    if (cp >= 0x300 && cp <= 0x36F) return 0; /* combining diacritical marks */
    if (cp >= 0x370 && cp <= 0x3FF) {         /* Greek */
        switch (cp) {
        case 0x386: case 0x3AC: o[0] = 0x3B1; return 1;
        case 0x388: case 0x3AD: o[0] = 0x3B5; return 1;
        case 0x389: case 0x3AE: o[0] = 0x3B7; return 1;
        case 0x38A: case 0x3AA: case 0x3AF: case 0x3CA: case 0x390: o[0] = 0x3B9; return 1;
        case 0x38C: case 0x3CC: o[0] = 0x3BF; return 1;
        case 0x38E: case 0x3AB: case 0x3CD: case 0x3CB: case 0x3B0: o[0] = 0x3C5; return 1;
        case 0x38F: case 0x3CE: o[0] = 0x3C9; return 1;
        case 0x3C2: o[0] = 0x3C3; return 1; /* final sigma */
        }
        if (cp >= 0x391 && cp <= 0x3A9) {
            o[0] = (uint32_t)cp + 0x20;
            return 1;
        }
        o[0] = (uint32_t)cp;
        return 1;
    }
    if (cp >= 0x400 && cp <= 0x52F) { /* Cyrillic and its supplement */
        uint32_t c = (uint32_t)cp;
        if (c >= 0x400 && c <= 0x40F) c += 0x50;
        else if (c >= 0x410 && c <= 0x42F) c += 0x20;
        else if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F)) c |= 1;
        else if (c >= 0x4C1 && c <= 0x4CE && (c & 1)) c += 1;
        else if (c == 0x4C0) c = 0x4CF;
        if (c == 0x451 || c == 0x450) c = 0x435; /* ё, ѐ -> е */
        if (c == 0x45D) c = 0x438;               /* ѝ -> и */
        o[0] = c;
        return 1;
    }
    if (cp >= 0x1E00 && cp <= 0x1EFF) { /* Latin Extended Additional: lower case */
        o[0] = cp <= 0x1E95 || cp >= 0x1EA0 ? (uint32_t)cp | 1 : (uint32_t)cp;
        return 1;
    }
    if (cp >= 0x1F00 && cp <= 0x1FFF) { /* polytonic Greek: enough for vowels */
        static const uint16_t base[] = {0x3B1, 0x3B5, 0x3B7, 0x3B9, 0x3BF, 0x3C5, 0x3C9};
        int row = (cp - 0x1F00) >> 4;
        if (row < 7) {
            o[0] = base[row];
            return 1;
        }
        o[0] = (uint32_t)cp;
        return 1;
    }
    if (cp >= 0x2010 && cp <= 0x2015) {
        o[0] = '-';
        return 1;
    }
    switch (cp) {
    case 0x2212: case 0x2043: case 0xFE58: case 0xFE63: o[0] = '-'; return 1;
    case 0x2018: case 0x2019: case 0x201A: case 0x201B: case 0x2032: case 0x2035: o[0] = '\''; return 1;
    case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0x2033: case 0x2036: o[0] = '"'; return 1;
    case 0x2026: o[0] = o[1] = o[2] = '.'; return 3;
    case 0x2122: o[0] = 't', o[1] = 'm'; return 2;
    case 0x2070: o[0] = '0'; return 1;
    case 0xFB00: o[0] = o[1] = 'f'; return 2;
    case 0xFB01: o[0] = 'f', o[1] = 'i'; return 2;
    case 0xFB02: o[0] = 'f', o[1] = 'l'; return 2;
    case 0xFB03: o[0] = o[1] = 'f', o[2] = 'i'; return 3;
    case 0xFB04: o[0] = o[1] = 'f', o[2] = 'l'; return 3;
    case 0xFB05: case 0xFB06: o[0] = 's', o[1] = 't'; return 2;
    }
    if (cp >= 0x2074 && cp <= 0x2079) {
        o[0] = (uint32_t)('4' + cp - 0x2074);
        return 1;
    }
    if (cp >= 0x2080 && cp <= 0x2089) {
        o[0] = (uint32_t)('0' + cp - 0x2080);
        return 1;
    }
    if (cp >= 0xFF01 && cp <= 0xFF5E) { /* fullwidth ASCII */
        int32_t a = cp - 0xFEE0;
        o[0] = (uint32_t)(a >= 'A' && a <= 'Z' ? a + 32 : a);
        return 1;
    }
    if (cp >= 0x24B6 && cp <= 0x24E9) { /* circled letters */
        o[0] = (uint32_t)('a' + (cp - 0x24B6) % 26);
        return 1;
    }
    o[0] = (uint32_t)cp;
    return 1;
}

size_t mr_name_fold(const char *s, size_t n, char *out)
{
    size_t i = 0, o = 0;
    int pending_space = 0;
    uint32_t f[3];
    while (i < n) {
        int32_t cp = mr_utf8_next(s, n, &i);
        if (cp < 0) continue;
        if (is_space(cp)) {
            pending_space = o > 0;
            continue;
        }
        if (is_invisible(cp)) continue;
        int k = fold_cp(cp, f);
        if (!k) continue;
        if (pending_space) out[o++] = ' ';
        pending_space = 0;
        for (int j = 0; j < k; j++) o += (size_t)mr_utf8_put(out + o, f[j]);
    }
    out[o] = 0;
    return o;
}
