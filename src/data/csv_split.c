/* Splitting CSV lines into fields: RFC 4180 quotes (a field in double quotes may hold the
 * delimiter, line ends and "" for a quote), whitespace mode, and the detection of the delimiter
 * from the first lines of a file. */
#include "data/csv_internal.h"

#include <stdlib.h>
#include <string.h>

char *mlp_csv_skip_blanks(char *s, char *end) {
    while (s < end && csv_is_blank(*s)) s++;
    return s;
}

static bool is_delim(char c, char delim) {
    return delim == CSV_WHITESPACE ? csv_is_blank(c) : c == delim;
}

/* The quoted field whose opening quote is at s: unquotes it in place into f and returns the
 * position after what follows the closing quote (blanks) up to the delimiter or end. */
static char *quoted_field(char *s, char *end, char delim, csv_field *f) {
    char *src = s + 1, *dst = s + 1;
    f->quoted = true;
    f->text = dst;
    for (;;) {
        if (src == end) { /* the quote is never closed */
            f->bad_quote = true;
            f->text_end = dst;
            return end;
        }
        if (*src == '"') {
            if (src + 1 < end && src[1] == '"') {
                *dst++ = '"';
                src += 2;
                continue;
            }
            break;
        }
        *dst++ = *src++;
    }
    f->text_end = dst;
    src++; /* the closing quote */
    while (src < end && !is_delim(*src, delim) && csv_is_blank(*src)) src++;
    if (src < end && !is_delim(*src, delim)) { /* text after the closing quote */
        f->bad_quote = true;
        while (src < end && !is_delim(*src, delim)) src++;
    }
    return src;
}

char *mlp_csv_next_field(char *s, char *end, char delim, csv_field *f) {
    f->quoted = f->bad_quote = false;
    char *a = s;
    while (a < end && csv_is_blank(*a) && !is_delim(*a, delim)) a++;
    char *q;
    if (a < end && *a == '"') {
        q = quoted_field(a, end, delim, f);
    } else {
        q = a;
        if (delim == CSV_WHITESPACE)
            while (q < end && !csv_is_blank(*q)) q++;
        else if (!(q = memchr(a, delim, (size_t)(end - a))))
            q = end;
        f->text = a;
        f->text_end = q;
    }
    char *b = f->text_end;
    char *t = f->text;
    while (t < b && csv_is_blank(*t)) t++;
    while (b > t && csv_is_blank(b[-1])) b--;
    f->text = t;
    f->text_end = b;
    return q;
}

size_t mlp_csv_count_fields(const char *s, const char *end, char delim) {
    size_t k = 0;
    bool quoted = false;
    const char *p = s;
    if (delim == CSV_WHITESPACE) {
        bool in_field = false;
        for (; p < end; p++) {
            if (*p == '"') quoted = !quoted;
            bool sep = !quoted && csv_is_blank(*p);
            if (!sep && !in_field) k++;
            in_field = !sep;
        }
        return k;
    }
    for (k = 1; p < end; p++) {
        if (*p == '"') quoted = !quoted;
        if (!quoted && *p == delim) k++;
    }
    return k;
}

/* c separates fields of another candidate than delim (blanks inside a field count for tab and
 * the one-character delimiters). */
static bool other_delim(char c, char delim) {
    if (delim == CSV_WHITESPACE) return c == ',' || c == ';';
    return c != delim && (c == ',' || c == ';' || c == '\t' || c == ' ');
}

/* Fields of line [s, end) with delim that hold no other candidate delimiter (quotes respected,
 * blanks around a field ignored). */
static size_t clean_fields(const char *s, const char *end, char delim) {
    size_t clean = 0;
    bool quoted = false, bad = false, any = false;
    size_t blanks = 0; /* blanks seen since the last other character of the field */
    for (const char *p = s;; p++) {
        bool at_end = p == end;
        char c = at_end ? '\0' : *p;
        if (!at_end && c == '"') quoted = !quoted;
        bool sep = at_end || (!quoted && (delim == CSV_WHITESPACE ? csv_is_blank(c) : c == delim));
        if (sep) {
            if (any && !bad) clean++;
            bad = any = false;
            blanks = 0;
            if (at_end) return clean;
            continue;
        }
        if (quoted || c == '"') {
            any = true;
        } else if (csv_is_blank(c)) {
            blanks++;
        } else {
            if (any && blanks && other_delim(' ', delim)) bad = true; /* a blank inside */
            if (other_delim(c, delim)) bad = true;
            any = true;
            blanks = 0;
        }
    }
}

char mlp_csv_detect_delimiter(const char *const *lines, const size_t *lens, size_t n) {
    static const char cand[] = {'\t', ';', ',', CSV_WHITESPACE};
    if (n == 0) return ',';
    size_t from = n > 1 ? 1 : 0; /* the first line may be a header of another width */
    char best = 0;
    size_t best_score = 0;
    for (size_t c = 0; c < sizeof cand; c++) {
        size_t want = mlp_csv_count_fields(lines[from], lines[from] + lens[from], cand[c]);
        bool same = want >= 2;
        size_t score = 0;
        for (size_t i = from; i < n && same; i++) {
            same = mlp_csv_count_fields(lines[i], lines[i] + lens[i], cand[c]) == want;
            score += clean_fields(lines[i], lines[i] + lens[i], cand[c]);
        }
        if (same && score > best_score) {
            best = cand[c];
            best_score = score;
        }
    }
    if (best) return best;
    size_t most = 1;
    best = ',';
    for (size_t c = 0; c < sizeof cand; c++) {
        size_t k = mlp_csv_count_fields(lines[n - 1], lines[n - 1] + lens[n - 1], cand[c]);
        if (k > most) {
            most = k;
            best = cand[c];
        }
    }
    return best;
}

/* ---- numbers in notations the reader does not take ---- */

bool mlp_csv_hex_prefix(const char *s) {
    if (*s == '+' || *s == '-') s++;
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* [a, b) is a decimal number as the reader takes it: [+-] digits [. digits] [e [+-] digits], with
 * at least one digit before the exponent. */
static bool is_decimal(const char *a, const char *b) {
    size_t digits = 0;
    if (a < b && (*a == '+' || *a == '-')) a++;
    for (; a < b && *a >= '0' && *a <= '9'; a++) digits++;
    if (a < b && *a == '.')
        for (a++; a < b && *a >= '0' && *a <= '9'; a++) digits++;
    if (!digits) return false;
    if (a < b && (*a == 'e' || *a == 'E')) {
        a++;
        if (a < b && (*a == '+' || *a == '-')) a++;
        if (a == b || *a < '0' || *a > '9') return false;
        while (a < b && *a >= '0' && *a <= '9') a++;
    }
    return a == b;
}

static bool is_digit(const char *p, const char *a, const char *b) {
    return p >= a && p < b && *p >= '0' && *p <= '9';
}

/* Whether p (in [a, b)) holds a character that a number in another notation has: a Unicode minus
 * sign or dash (*out = '-'), a digit separator between digits (*out = 0: dropped) or a decimal
 * comma between digits (*out = '.'). *len receives its length in bytes, *why what it is. */
static bool foreign_char(const char *p, const char *a, const char *b, char delim, size_t *len,
                         char *out, const char **why) {
    static const struct {
        const char *bytes, *why;
    } minus[] = {
        {"\xE2\x88\x92", "a Unicode minus sign (U+2212) where '-' belongs"},
        {"\xE2\x80\x93", "an en dash (U+2013) where '-' belongs"},
        {"\xE2\x80\x92", "a figure dash (U+2012) where '-' belongs"},
    };
    for (size_t i = 0; i < sizeof minus / sizeof minus[0]; i++)
        if ((size_t)(b - p) >= 3 && memcmp(p, minus[i].bytes, 3) == 0) {
            *len = 3;
            *out = '-';
            *why = minus[i].why;
            return true;
        }
    if (!is_digit(p - 1, a, b) || !is_digit(p + 1, a, b)) return false;
    if (*p == '_') {
        *out = 0;
        *why = "digits grouped with '_' (write the digits alone)";
        return true;
    }
    if (*p == ',' && delim != ',') {
        *out = '.';
        *why = "a decimal comma (write a decimal point)";
        return true;
    }
    return false;
}

const char *mlp_csv_foreign_number(const char *a, const char *b, char delim) {
    if (mlp_csv_hex_prefix(a)) {
        char *e = NULL;
        (void)strtod(a, &e); /* the C library reads hexadecimal: the reader does not */
        return e == b ? "hexadecimal (numbers are read as decimal only)" : NULL;
    }
    char buf[64]; /* the field as the other notation means it */
    size_t n = 0;
    const char *why = NULL;
    for (const char *p = a; p < b;) {
        size_t len = 1;
        char c = *p;
        const char *w;
        if (foreign_char(p, a, b, delim, &len, &c, &w) && !why) why = w;
        if (c && n + 1 >= sizeof buf) return NULL; /* longer than any number written by hand */
        if (c) buf[n++] = c;
        p += len;
    }
    return why && is_decimal(buf, buf + n) ? why : NULL;
}
