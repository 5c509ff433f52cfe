// The PKCS#11 2.40 API (types, constants and the function list) from p11-kit's header, in its standard (compat)
// spelling. Declarations only: Coffre links no PKCS#11 library and loads the operator's module at run time (dlopen).
#include <p11-kit-1/p11-kit/pkcs11.h>
