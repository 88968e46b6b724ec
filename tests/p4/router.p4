// The project's router (p4src/router.p4) under STF test.
#include "../../p4src/router.p4"
