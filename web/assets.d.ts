/** `import href from "./x.css" with { type: "file" }`: the bundler copies the file and gives its URL. */
declare module "*.css" {
  const href: string;
  export default href;
}
