/*
 * Validate.java -- the independent FHIR R4 validator of the integration
 * tests: HAPI FHIR's instance validator with the R4 core definitions and
 * terminology.  It reads one resource per line on stdin and answers one
 * line of JSON per resource: {"errors": [...], "warnings": n}.  An error
 * is a message of severity error or fatal, with its location.
 */
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

public class Validate {
    private static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c < 0x20) {
                b.append(String.format("\\u%04x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.append('"').toString();
    }

    public static void main(String[] args) throws Exception {
        FhirContext ctx = FhirContext.forR4();
        ValidationSupportChain chain = new ValidationSupportChain(
            new DefaultProfileValidationSupport(ctx),
            new InMemoryTerminologyServerValidationSupport(ctx),
            new CommonCodeSystemsTerminologyService(ctx),
            new SnapshotGeneratingValidationSupport(ctx));
        FhirValidator validator = ctx.newValidator()
            .registerValidatorModule(new FhirInstanceValidator(chain));
        BufferedReader in = new BufferedReader(
            new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, "UTF-8");
        out.println("{\"ready\": true}");
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            StringBuilder errors = new StringBuilder();
            int warnings = 0;
            try {
                ValidationResult r = validator.validateWithResult(line);
                for (SingleValidationMessage m : r.getMessages()) {
                    ResultSeverityEnum sev = m.getSeverity();
                    if (sev == ResultSeverityEnum.ERROR || sev == ResultSeverityEnum.FATAL) {
                        if (errors.length() > 0) {
                            errors.append(", ");
                        }
                        errors.append(quote(m.getLocationString() + ": " + m.getMessage()));
                    } else if (sev == ResultSeverityEnum.WARNING) {
                        warnings++;
                    }
                }
            } catch (Exception e) {
                errors.append(quote("the validator failed: " + e));
            }
            out.println("{\"errors\": [" + errors + "], \"warnings\": " + warnings + "}");
        }
    }
}
