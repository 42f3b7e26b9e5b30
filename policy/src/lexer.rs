//! Tokens of the policy language (logos).

use logos::Logos;

/// One token. Words that look like addresses, prefixes or communities are
/// one [`Token::Word`]; the parser decides which by their shape.
#[derive(Logos, Debug, Clone, Copy, PartialEq, Eq)]
#[logos(skip r"[ \t\r\n\f]+")]
#[logos(skip(r"#[^\n]*", allow_greedy = true))]
pub(crate) enum Token<'s> {
    /// `{`
    #[token("{")]
    LBrace,
    /// `}`
    #[token("}")]
    RBrace,
    /// `(`
    #[token("(")]
    LParen,
    /// `)`
    #[token(")")]
    RParen,
    /// `;`
    #[token(";")]
    Semi,
    /// `,`
    #[token(",")]
    Comma,
    /// `==`
    #[token("==")]
    Eq,
    /// `!=`
    #[token("!=")]
    Ne,
    /// `<`
    #[token("<")]
    Lt,
    /// `<=`
    #[token("<=")]
    Le,
    /// `>`
    #[token(">")]
    Gt,
    /// `>=`
    #[token(">=")]
    Ge,
    /// A double-quoted string without escapes; the slice excludes the quotes.
    #[regex(r#""[^"\n]*""#, |lex| { let s = lex.slice(); s.get(1..s.len() - 1).unwrap_or("") })]
    Str(&'s str),
    /// A decimal integer.
    #[regex(r"[0-9]+", |lex| lex.slice())]
    Int(&'s str),
    /// An address, prefix or community: hex digits, '.', ':' and '*' with at
    /// least one '.' or ':', and an optional "/len".
    #[regex(r"[0-9a-fA-F*]*[.:][0-9a-fA-F.:*]*(/[0-9]+)?", |lex| lex.slice())]
    #[regex(r"(rt|soo):[0-9.:*]+", |lex| lex.slice())]
    Word(&'s str),
    /// A name or keyword: letters, digits, '-' and '_', starting with a letter.
    #[regex(r"[A-Za-z_][A-Za-z0-9_-]*", |lex| lex.slice(), priority = 3)]
    Ident(&'s str),
}

impl Token<'_> {
    /// How the token reads in an "expected ..., found ..." message.
    pub(crate) fn describe(&self) -> String {
        match self {
            Token::LBrace => "'{'".into(),
            Token::RBrace => "'}'".into(),
            Token::LParen => "'('".into(),
            Token::RParen => "')'".into(),
            Token::Semi => "';'".into(),
            Token::Comma => "','".into(),
            Token::Eq => "'=='".into(),
            Token::Ne => "'!='".into(),
            Token::Lt => "'<'".into(),
            Token::Le => "'<='".into(),
            Token::Gt => "'>'".into(),
            Token::Ge => "'>='".into(),
            Token::Str(s) => format!("string \"{s}\""),
            Token::Int(s) | Token::Word(s) => format!("'{s}'"),
            Token::Ident(s) => format!("'{s}'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lex(s: &str) -> Vec<Token<'_>> {
        Token::lexer(s).map(|t| t.unwrap()).collect()
    }

    #[test]
    fn words_and_idents() {
        assert_eq!(
            lex("prefix-set bogons { 10.0.0.0/8 or-longer; 2001:db8::/32{32,48}; } # c"),
            vec![
                Token::Ident("prefix-set"),
                Token::Ident("bogons"),
                Token::LBrace,
                Token::Word("10.0.0.0/8"),
                Token::Ident("or-longer"),
                Token::Semi,
                Token::Word("2001:db8::/32"),
                Token::LBrace,
                Token::Int("32"),
                Token::Comma,
                Token::Int("48"),
                Token::RBrace,
                Token::Semi,
                Token::RBrace,
            ]
        );
        assert_eq!(
            lex("rt:65000:* 65535:* dead:beef::1 add \"x y\" >= !="),
            vec![
                Token::Word("rt:65000:*"),
                Token::Word("65535:*"),
                Token::Word("dead:beef::1"),
                Token::Ident("add"),
                Token::Str("x y"),
                Token::Ge,
                Token::Ne
            ]
        );
    }
}
