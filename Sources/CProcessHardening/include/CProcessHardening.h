#ifndef C_PROCESS_HARDENING_H
#define C_PROCESS_HARDENING_H

/// prctl(2) is variadic, which Swift cannot call: this names the one call Coffre makes.
int coffre_set_not_dumpable(void);

#endif
