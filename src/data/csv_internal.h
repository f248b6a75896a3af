/* The CSV reader's line splitting (src/csv_split.c): fields with RFC 4180 quotes, whitespace
 * mode (runs of blanks as one separator) and delimiter detection. Used by src/data_csv.c. */
#ifndef MLP_CSV_INTERNAL_H
#define MLP_CSV_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

/* The delimiter value of whitespace mode: runs of spaces and tabs separate fields, blanks at
 * the start and end of a line are ignored. */
#define CSV_WHITESPACE ' '

static inline bool csv_is_blank(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

/* One field of a line. */
typedef struct csv_field {
    char *text, *text_end; /* its content: blanks around it trimmed, quotes removed ("" -> ") */
    bool quoted;           /* it was in quotes */
    bool bad_quote;        /* a quote left open, or text after the closing quote */
} csv_field;

/* Reads the field starting at s (line [s, end)) with delimiter delim, unquoting it in place, and
 * returns where it stopped: at its delimiter or at end. In whitespace mode s must not be at a
 * blank (mlp_csv_skip_blanks). */
char *mlp_csv_next_field(char *s, char *end, char delim, csv_field *f);
/* s moved past blanks (not past end). */
char *mlp_csv_skip_blanks(char *s, char *end);
/* Fields of line [s, end) with delim, without changing it (quotes respected). */
size_t mlp_csv_count_fields(const char *s, const char *end, char delim);
/* The delimiter of sample lines (data lines, not blank, not comments): among tab, ';', ',' and
 * whitespace, those that split every line after the first (all of them when there is one) into
 * the same number of fields, at least 2, compete: the one whose fields hold the fewest other
 * delimiters (most clean fields) wins, ties in that order; with none, the one that gives the most
 * fields on the last line; else ','. */
char mlp_csv_detect_delimiter(const char *const *lines, const size_t *lens, size_t n);

/* s (after an optional sign) starts with 0x or 0X: hexadecimal, which strtod reads and the
 * reader refuses (numbers are decimal). */
bool mlp_csv_hex_prefix(const char *s);
/* Why field [a, b) (trimmed, not a number as the reader takes numbers) is a number in a notation
 * the reader does not take, for messages: hexadecimal, a Unicode minus sign or dash for '-', '_'
 * between digits, a decimal comma (when delim is not ','); NULL when it is none of them (it is
 * text). Such a field is never header text: in a first row it is an error, as everywhere. */
const char *mlp_csv_foreign_number(const char *a, const char *b, char delim);

#endif /* MLP_CSV_INTERNAL_H */
