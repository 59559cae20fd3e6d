#!/usr/bin/env bash
# build.sh -- builds the FHIR validator of the integration tests into
# $PMS_CACHE/fhir-validator (once per change of pom.xml or Validate.java):
# Maven resolves the HAPI FHIR jars into $PMS_CACHE/m2, javac compiles
# Validate.java against them.  Prints the java command line to run it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${PMS_CACHE:?PMS_CACHE must name the cache folder}"
out="$cache/fhir-validator"
stamp=$(cat "$here/pom.xml" "$here/Validate.java" | sha256sum | cut -c1-16)

if [ "$(cat "$out/.built" 2>/dev/null)" != "$stamp" ]; then
    rm -rf "$out"
    mkdir -p "$out/classes"
    mvn -q -B -f "$here/pom.xml" -Dmaven.repo.local="$cache/m2" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath \
        -Dmdep.outputFile="$out/classpath" >&2
    javac -nowarn -d "$out/classes" -cp "$(cat "$out/classpath")" "$here/Validate.java" >&2
    echo "$stamp" > "$out/.built"
fi
printf 'java -Xss4m -Xmx768m -cp %s:%s Validate\n' "$out/classes" "$(cat "$out/classpath")"
