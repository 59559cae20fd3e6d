/*
 * fhir_map.h -- the pms patient as an HL7 FHIR R4 Patient, both ways, and
 * FHIR's error resource.  One store, two representations: a FHIR body is
 * turned into the JSON API's body and validated by the same rules
 * (patient_validate); a stored row is rendered from the same columns.
 *
 *   pms                 FHIR Patient
 *   id                  id
 *   version, updatedAt  meta.versionId, meta.lastUpdated
 *   name                name[0].text (given/family too when the name is
 *                       exactly two words)
 *   email               telecom[0] {system: email, value}
 *   address             address[0].text
 *   dateOfBirth         birthDate
 *   registeredDate      extension FHIR_EXT_REGISTERED (valueDate)
 *   billingAccountId    identifier {system: FHIR_SID_BILLING, value}
 *
 * Pure functions, unit-tested.
 */
#ifndef FHIR_MAP_H
#define FHIR_MAP_H

#include <jansson.h>
#include <libpq-fe.h>

#define FHIR_EXT_REGISTERED                                                    \
    "https://pms.example.org/fhir/StructureDefinition/registered-date"
#define FHIR_SID_BILLING  "https://pms.example.org/fhir/sid/billing-account"
#define FHIR_CONTENT_TYPE "application/fhir+json; charset=utf-8"

/*
 * The Patient of row r of res (PATIENT_COLS).  version and last_updated
 * override the row's (a history record's), or are NULL.  New reference.
 */
json_t *fhir_patient(const PGresult *res, int r, const char *version,
    const char *last_updated);

/*
 * Turns a FHIR Patient body into the JSON API's body (new reference) for
 * patient_validate().  What cannot be kept without loss (a second name, a
 * phone number, an unknown element or extension) or is not a Patient is
 * appended to issues as OperationOutcome issues; id is compared with
 * want_id when that is not NULL (an update).  Returns NULL with issues
 * added when the body cannot be mapped.
 */
json_t *fhir_patient_to_pms(json_t *fhir, const char *want_id, json_t *issues);

/* Appends one issue {severity error, code, diagnostics, expression}. */
void fhir_issue_add(json_t *issues, const char *code, const char *expression,
    const char *diagnostics);

/* The FHIR path of a JSON API field ("email" -> "Patient.telecom[0]"). */
const char *fhir_expression(const char *pms_field);

/* An OperationOutcome of issues (stolen).  New reference. */
json_t *fhir_outcome(json_t *issues);

/* The issue code of an HTTP error status (404 not-found, ...). */
const char *fhir_issue_code(int status);

#endif
