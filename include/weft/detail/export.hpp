// Symbol visibility for libweft: the library is built with hidden visibility and
// exports exactly the names marked WEFT_API.
#pragma once

#define WEFT_API __attribute__((visibility("default")))
