import { createContext } from "preact";

/** How deep components hand an error to the page-wide alert. */
export const ReportError = createContext<(err: unknown) => void>((err) => console.error(err));
