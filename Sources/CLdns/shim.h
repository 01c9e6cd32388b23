// stdbool first: without it ldns/common.h defines bool as signed char, which
// imports into Swift as Int8 (the library itself is built with C99 bool).
#include <stdbool.h>
#include <ldns/ldns.h>
