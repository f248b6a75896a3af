/* Internal helpers of the class lists (src/classes.c), shared with the CSV reader and the model
 * files. */
#ifndef MLP_CLASSES_INTERNAL_H
#define MLP_CLASSES_INTERNAL_H

#include "mlp/data.h"

#include <stddef.h>

/* text (blanks around it allowed) as a finite number into *v (-0.0 becomes 0.0); 1 on success. */
int mlp_class_parse_number(const char *text, double *v);
/* The index of value v in c (NUMBERS: by value; NONE: v itself if it is an integer >= 0); 1 if
 * found. */
int mlp_classes_find_number(const mlp_classes *c, double v, size_t *index);

#endif /* MLP_CLASSES_INTERNAL_H */
