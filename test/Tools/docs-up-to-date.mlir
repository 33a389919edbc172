// The dialect reference in docs/ is the one ODS generates (run
// scripts/update-docs.sh after changing a .td file).
// RUN: diff %tessera_obj/docs/TesseraDialect.md %tessera_src/docs/dialect/TesseraDialect.md
// RUN: diff %tessera_obj/docs/TesseraPasses.md %tessera_src/docs/dialect/TesseraPasses.md
// RUN: %python %tessera_src/scripts/gen-types-doc.py --check
